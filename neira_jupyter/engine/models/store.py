"""The model cache folder and file hashing, shared by the demo assembly and the downloads."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def cache_dir() -> Path:
    """Where assembled and downloaded models live (``NEIRA_CACHE_DIR`` overrides)."""
    env = os.environ.get("NEIRA_CACHE_DIR")
    base = Path(env) if env else Path.home() / ".cache" / "neira-jupyter"
    base.mkdir(parents=True, exist_ok=True)
    return base


def hash_file(path: Path, block: int = 1 << 20) -> str:
    """The SHA-256 of ``path`` as hex, read in ``block``-sized pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while data := source.read(block):
            digest.update(data)
    return digest.hexdigest()
