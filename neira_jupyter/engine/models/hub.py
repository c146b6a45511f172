"""Downloading, verifying and removing catalog models (``huggingface_hub``, resumable).

``download`` asks the hub for the file's metadata (its size and, for LFS
files, its SHA-256, which the hub sends as the ETag), then calls
``hf_hub_download`` into ``cache_dir()/<name>/``. huggingface_hub shows a
progress bar and keeps an interrupted download as ``.incomplete``, so the
next call resumes with an HTTP Range request. The finished file is hashed; a
mismatch deletes it. The verified hash is kept beside the file
(``<file>.sha256``) so ``verify`` can re-check it later without the network.
``HF_ENDPOINT`` points huggingface_hub at a mirror (or a test server).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .catalog import CatalogEntry, lookup
from .store import cache_dir, hash_file

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ChecksumError(RuntimeError):
    """A downloaded file whose SHA-256 is not the catalog's pin or the one the hub announced."""


@dataclass(frozen=True)
class Downloaded:
    """A finished, verified download."""

    name: str
    path: Path
    size: int
    sha256: str


def model_dir(name: str) -> Path:
    """The folder a catalog model is downloaded into."""
    return cache_dir() / lookup(name).name


def local_path(name: str) -> Path:
    """Where the catalog model ``name`` lives once downloaded (it may not exist)."""
    entry = lookup(name)
    return model_dir(name) / entry.filename


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def expected_sha256(entry: CatalogEntry) -> str | None:
    """The entry's pinned SHA-256, else the hub's (LFS ETag), else None when it announces none."""
    if entry.sha256 is not None:
        return entry.sha256
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(entry.repo_id, entry.filename, revision=entry.revision)
    etag = (get_hf_file_metadata(url).etag or "").strip('"').lower()
    return etag if _SHA256.match(etag) else None


def download(name: str) -> Downloaded:
    """Download (or resume) the catalog model ``name`` and check its SHA-256."""
    from huggingface_hub import hf_hub_download
    from tqdm import tqdm  # plain tqdm: the bar shows in pipes and logs too, not only TTYs

    entry = lookup(name)
    expected = expected_sha256(entry)
    path = Path(
        hf_hub_download(
            repo_id=entry.repo_id,
            filename=entry.filename,
            revision=entry.revision,
            local_dir=model_dir(name),
            tqdm_class=tqdm,
        )
    )
    actual = hash_file(path)
    if expected is not None and actual != expected:
        path.unlink(missing_ok=True)
        raise ChecksumError(
            f"{entry.filename}: SHA-256 {actual}, expected {expected}; "
            "the file was deleted, download it again"
        )
    _stamp(path).write_text(actual + "\n")
    return Downloaded(name, path, path.stat().st_size, actual)


def verify(name: str) -> str | None:
    """Re-hash a downloaded catalog model; the problem found, or None when it matches."""
    path = local_path(name)
    if not path.is_file():
        return f"{name} is not downloaded (jupyter neira models download {name})"
    stamp = _stamp(path)
    if not stamp.is_file():
        return f"{path}: no recorded checksum (download it again to record one)"
    actual = hash_file(path)
    expected = stamp.read_text().strip()
    return None if actual == expected else f"{path}: SHA-256 {actual}, expected {expected}"


def remove(name: str) -> bool:
    """Delete a downloaded catalog model (and any partial download); whether anything was there."""
    folder = model_dir(name)
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    return True
