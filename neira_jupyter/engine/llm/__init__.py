"""Language models: the resident GGUF model (llama-cpp-python) and a remote OpenAI-compatible API.

``LlamaModel`` serves ``spec.slots`` sequences at once (1 included) from one
continuous-batching loop; ``RemoteModel`` streams from an OpenAI-compatible
server. Both implement ``LanguageModel``: ``load``, ``close``, and a blocking
``generate`` that streams ``TokenChunk``s and ends with a ``GenerationResult``;
``LlamaModel.start`` is the non-blocking form the engine uses.
"""

from __future__ import annotations

from .base import LanguageModel, TokenChunk
from .llama import LlamaModel, LLMSpec
from .remote import RemoteModel, RemoteSpec
from .runtime import llama_supports_gpu

__all__ = [
    "LLMSpec",
    "LanguageModel",
    "LlamaModel",
    "RemoteModel",
    "RemoteSpec",
    "TokenChunk",
    "llama_supports_gpu",
]
