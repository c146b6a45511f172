"""Where the batching tests find their real model: the Qwen2.5-Coder 0.5B demo GGUF."""

from __future__ import annotations

from pathlib import Path

import pytest

from neira_jupyter.engine import models

QWEN_FILE = "qwen2.5-coder-0.5b-instruct.gguf"


def qwen_path() -> Path:
    """The assembled demo GGUF in the model cache (``NEIRA_CACHE_DIR`` honoured)."""
    path = models.cache_dir() / QWEN_FILE
    if not path.is_file():
        pytest.fail(f"the demo GGUF {path} is missing: assemble the demo models first")
    return path
