"""The internals of llama-cpp-python and faster-whisper that the engine relies on are there.

The batch loop (``engine/llm``) drives llama.cpp's C API through
llama-cpp-python's low-level bindings and takes the model and vocabulary from
``Llama._model``; the live speech windows (``engine/speech/window.py``) call
CTranslate2's Whisper behind ``WhisperModel.model`` directly. Neither is a
public API, so ``pyproject.toml`` bounds both packages to the versions tested.
Whoever raises a bound runs this file first: each failure names what is gone.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path

import pytest

LLM_PACKAGE = Path(__file__).resolve().parents[2] / "neira_jupyter" / "engine" / "llm"
# ``ll.name`` / ``self._ll.name`` / ``llama_cpp.name`` (``ll`` is llama_cpp in these modules)
_BINDING = re.compile(r"\b(?:ll|_ll|llama_cpp)\.([A-Za-z_]\w*)")


def bindings_used() -> set[str]:
    """Every ``llama_cpp`` attribute the engine's LLM modules name."""
    names: set[str] = set()
    for path in LLM_PACKAGE.glob("*.py"):
        names |= set(_BINDING.findall(path.read_text(encoding="utf-8")))
    return names


def test_the_scan_finds_the_bindings() -> None:
    used = bindings_used()
    assert {"llama_decode", "llama_batch_init", "llama_sampler_sample"} <= used


def test_llama_cpp_has_every_binding_the_batch_loop_calls() -> None:
    import llama_cpp

    missing = sorted(
        name
        for name in bindings_used()
        if not hasattr(llama_cpp, name)
        and importlib.util.find_spec(f"llama_cpp.{name}") is None
    )
    assert not missing, (
        f"llama-cpp-python {llama_cpp.__version__} lacks {missing}, which neira_jupyter/engine/llm "
        "calls; keep the version pyproject.toml's `llm` extra names, or port the batch loop"
    )


@pytest.mark.model
def test_llama_keeps_its_model_and_vocab_where_the_engine_reads_them() -> None:
    from llama_cpp import Llama

    from neira_jupyter.engine.models import demo_fallback_path

    path = demo_fallback_path()
    assert path is not None, "the demo fallback model is not installed (make setup)"
    llama = Llama(str(path), vocab_only=True, verbose=False)
    try:
        internal = getattr(llama, "_model", None)
        assert internal is not None, "Llama._model is gone (engine/llm/llama.py reads it)"
        assert internal.model, "Llama._model.model is gone (the llama_model pointer)"
        assert internal.vocab, "Llama._model.vocab is gone (the llama_vocab pointer)"
    finally:
        llama.close()


def test_faster_whisper_keeps_what_the_live_windows_call() -> None:
    import ctranslate2
    import faster_whisper
    from faster_whisper import WhisperModel

    version = faster_whisper.__version__
    # module-level helpers imported by engine/speech/window.py
    from faster_whisper.tokenizer import Tokenizer  # noqa: F401
    from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens  # noqa: F401

    for name in ("encode", "get_prompt", "transcribe"):
        assert hasattr(WhisperModel, name), f"faster-whisper {version}: WhisperModel.{name} is gone"
    init = inspect.getsource(WhisperModel.__init__)
    for attribute in ("self.model", "self.feature_extractor", "self.hf_tokenizer"):
        assert attribute in init, f"faster-whisper {version}: WhisperModel sets no {attribute}"
    whisper = ctranslate2.models.Whisper
    for name in ("generate", "detect_language", "is_multilingual"):
        assert hasattr(whisper, name), f"ctranslate2 {ctranslate2.__version__}: Whisper.{name}"
    documented = whisper.generate.__doc__ or ""
    for keyword in (
        "beam_size", "max_length", "return_scores", "return_no_speech_prob", "suppress_blank",
        "suppress_tokens",
    ):  # fmt: skip
        assert keyword in documented, (
            f"ctranslate2 {ctranslate2.__version__}: Whisper.generate takes no {keyword}"
        )
