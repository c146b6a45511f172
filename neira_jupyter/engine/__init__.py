"""The engine: resident models, correction, scheduling and routing.

Nothing in this package imports Jupyter; it could run under any server (the
Jupyter extension, a JupyterHub service). Heavy runtimes (llama_cpp,
faster_whisper, av) are imported lazily by the modules that need them.

Layers, lowest first (each imports only from the ones before it):

* ``types`` (values and errors), ``resident`` (the load lifecycle),
  ``schedule`` (fair queues and one worker per model);
* ``llm`` (the GGUF model, a remote OpenAI-compatible API), ``speech``
  (audio, Whisper, live streaming), ``routing`` (memory readings, pressure,
  estimates, the router), ``correct`` (transcript correction);
* ``config`` (the resolved settings) and ``models`` (the demo models);
* ``admission`` (the hook that may refuse a request), ``observe``
  (``EngineObserver`` and ``UsageObserver``: how a host watches finished work
  and usage), ``quota`` (per-user limits: an admission hook and a usage observer);
* ``generation`` (the LLM backends, their router and generation streams) and
  ``transcription`` (the speech models on their lanes);
* ``service`` (``NeiraEngine``: everything above, composed).

The package itself imports nothing: ``NeiraEngine`` and ``GenerationStart``
are loaded from ``service`` and ``generation`` when first asked for, so
importing a light module (``engine.types``) never pulls in the rest.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GenerationStart", "NeiraEngine"]


def __getattr__(name: str) -> Any:
    """``NeiraEngine`` and ``GenerationStart``, imported on first use."""
    if name == "NeiraEngine":
        from .service import NeiraEngine

        return NeiraEngine
    if name == "GenerationStart":
        from .generation import GenerationStart

        return GenerationStart
    raise AttributeError(f"module 'neira_jupyter.engine' has no attribute {name!r}")
