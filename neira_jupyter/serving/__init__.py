"""The serving layer: protocol requests -> engine calls -> protocol documents and streams.

Between the HTTP handlers (``server/``) and the engine, as vLLM's
``serving_chat``/``serving_completion`` sit between its API server and its
engine: each module takes a validated protocol request, calls the engine and
returns typed results or an async stream of protocol documents. Nothing here
imports tornado or jupyter_server, so tests drive it directly.

* ``generate``: ``api/generate`` (``open_generation``, ``neira_events``)
* ``openai_completion`` and ``openai_answer``: ``v1/chat/completions``, ``v1/completions``
* ``models``: the models an OpenAI request may name
* ``speech``: transcription and correction
* ``errors``: engine errors as documents; ``wire``: engine results as documents
* ``limits``: the server's request limits
"""

from __future__ import annotations

from .generate import StartedGeneration, neira_events, open_generation
from .limits import RequestLimits
from .openai_completion import OpenAICompletion, open_completion

__all__ = [
    "OpenAICompletion",
    "RequestLimits",
    "StartedGeneration",
    "neira_events",
    "open_completion",
    "open_generation",
]
