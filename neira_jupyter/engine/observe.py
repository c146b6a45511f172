"""How a host watches what the engine did: ``EngineObserver`` and ``UsageObserver``.

``NeiraEngine`` calls its observer once per finished generation, transcription
and correction, and once per change of route, with the engine's own result
objects. The base class does nothing; a host subclasses it (the Jupyter
extension's Prometheus metrics, ``server/metrics.py``) and sets
``engine.observer``.

Usage observers (``engine.usage_observers``, e.g. the Hub service's
``QuotaLedger``) are told what each user used, also when the work did not
finish: the tokens a generation streamed, counted when its stream ends however
it ends (a client that leaves mid-stream is charged what it got), and the
audio seconds of each transcription and of each committed live segment.

Observers run on the event loop and must be quick; an exception in one is
logged, never passed to the request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, Protocol

if TYPE_CHECKING:
    from .correct import Correction
    from .routing import Switch
    from .speech import Transcript
    from .types import GenerationResult

P = ParamSpec("P")
log = logging.getLogger("neira_jupyter")


class EngineObserver:
    """Receives the engine's finished work; every method is a no-op here."""

    def generation(self, user: str, result: GenerationResult) -> None:
        """A generation ran to its result (a caller that leaves early gets none)."""

    def transcription(self, user: str, transcript: Transcript, audio_seconds: float) -> None:
        """A transcription of ``audio_seconds`` of audio finished."""

    def correction(self, user: str, correction: Correction) -> None:
        """A transcript correction finished (changed, unchanged or degraded)."""

    def route_switch(self, switch: Switch) -> None:
        """The router moved new requests from one backend to another."""


class UsageObserver(Protocol):
    """Told what each user used, whether or not the work ran to its end."""

    def add_tokens(self, user: str, tokens: int) -> None:
        """``user``'s generation streamed ``tokens`` tokens (its result's count when it has one)."""

    def add_audio(self, user: str, seconds: float) -> None:
        """``seconds`` of ``user``'s audio were sent to be decoded."""


def notify(method: Callable[P, None], *args: P.args, **kwargs: P.kwargs) -> None:
    """Call one observer method; its failure is logged and never reaches the caller."""
    try:
        method(*args, **kwargs)
    except Exception:
        log.exception("neira: the engine observer failed in %s", method.__name__)
