"""Language models: the resident GGUF model (llama-cpp-python) and a remote OpenAI-compatible API.

``make_llama_model`` picks the single-sequence ``LlamaModel`` or, for a spec
with ``slots > 1``, the continuous-batching ``BatchedLlamaModel``.

Both implement ``LanguageModel``: ``load``, ``close``, and a blocking
``generate`` that streams ``TokenChunk``s and ends with a ``GenerationResult``.
"""

from __future__ import annotations

from .base import LanguageModel, TokenChunk
from .batched import BatchedLlamaModel, make_llama_model
from .llama import LlamaModel, LLMSpec, llama_supports_gpu
from .remote import RemoteModel, RemoteSpec

__all__ = [
    "BatchedLlamaModel",
    "LLMSpec",
    "LanguageModel",
    "LlamaModel",
    "RemoteModel",
    "RemoteSpec",
    "TokenChunk",
    "llama_supports_gpu",
    "make_llama_model",
]
