"""What the local LLM takes from llama-cpp-python's install and the host: the import,
GPU support, thread count, and the tokens the benchmark's switch bans."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..types import EngineError

if TYPE_CHECKING:
    from llama_cpp import Llama

__all__ = [
    "IGNORE_EOS_ENV",
    "banned_tokens",
    "default_threads",
    "import_llama",
    "llama_supports_gpu",
]

# Benchmarks only: with NEIRA_BENCH_IGNORE_EOS=1 in the server's environment the
# end-of-generation tokens are never sampled, so every request runs to max_tokens.
IGNORE_EOS_ENV = "NEIRA_BENCH_IGNORE_EOS"


def llama_supports_gpu() -> bool:
    """Whether the installed llama-cpp-python was built with a GPU backend."""
    try:
        import llama_cpp
    except ImportError:
        return False
    return bool(llama_cpp.llama_supports_gpu_offload())


def default_threads() -> int:
    """llama.cpp threads when the spec names none: every core."""
    return max(1, os.cpu_count() or 1)


def import_llama() -> type[Llama]:
    """``llama_cpp.Llama``, or an ``EngineError`` that says how to install it."""
    try:
        from llama_cpp import Llama as LlamaClass
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EngineError(
            "llama-cpp-python is not installed; install it with the portable build "
            "flags from the README (pip install 'neira-jupyter[llm]')"
        ) from exc
    return LlamaClass


def banned_tokens(vocab: Any, n_vocab: int) -> list[int]:
    """The tokens no sequence may sample: with ``NEIRA_BENCH_IGNORE_EOS=1`` every token
    llama.cpp treats as the end of a generation (EOS, EOT, ...), else none."""
    if os.environ.get(IGNORE_EOS_ENV) != "1":
        return []
    import llama_cpp

    return [t for t in range(n_vocab) if llama_cpp.llama_vocab_is_eog(vocab, t)]
