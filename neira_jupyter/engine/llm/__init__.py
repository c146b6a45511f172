"""Language models: the resident GGUF model (llama-cpp-python) and a remote OpenAI-compatible API.

Both implement ``LanguageModel``: ``load``, ``close``, and a blocking
``generate`` that streams ``TokenChunk``s and ends with a ``GenerationResult``.
"""

from __future__ import annotations

from .base import LanguageModel, TokenChunk
from .llama import LlamaModel, LLMSpec, llama_supports_gpu
from .remote import RemoteModel, RemoteSpec

__all__ = [
    "LLMSpec",
    "LanguageModel",
    "LlamaModel",
    "RemoteModel",
    "RemoteSpec",
    "TokenChunk",
    "llama_supports_gpu",
]
