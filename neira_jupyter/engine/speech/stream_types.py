"""What a live stream works with: its options, what it reports, what it needs of the engine.

``StreamOptions`` says how one stream is transcribed, ``Partial`` is what to
show while the user speaks, ``StreamResult`` the stream's final result, and
``SpeechEngine`` the calls of the engine (``NeiraEngine``) that
``streaming.StreamingRecognizer`` makes.

This module imports nothing from Jupyter.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..correct import Correction
from .dispatch import Priority
from .whisper import Transcript
from .window import Window

__all__ = ["Listener", "Partial", "SpeechEngine", "StreamOptions", "StreamResult"]


class SpeechEngine(Protocol):
    """What a stream needs of the engine (``NeiraEngine``): decodes and the correction."""

    async def decode_live(
        self, user: str, key: str, priority: Priority, source: Callable[[], Window | None]
    ) -> Transcript | None: ...

    def drop_live(self, key: str) -> None: ...

    def hold_partials(self) -> contextlib.AbstractContextManager[None]: ...

    async def correct(self, user: str, text: str, language: str = "auto") -> Correction: ...


@dataclass(frozen=True)
class StreamOptions:
    """How one live stream is transcribed.

    ``step_s``: new audio that triggers another partial decode.
    ``silence_s``: silence after speech that closes a segment.
    ``max_segment_s``: longest segment before a forced cut.
    ``max_seconds``: longest stream; more audio is a ``BadRequest``.
    ``vad_threshold``: the Silero speech probability at which a frame counts as speech.
    ``language_confidence``: with language ``"auto"``, the detection probability
    at which the stream trusts a detected language (``LanguageTracker``).
    """

    language: str = "auto"
    correct: bool = True
    step_s: float = 0.5
    silence_s: float = 0.6
    max_segment_s: float = 20.0
    max_seconds: float = 600.0
    vad_threshold: float = 0.5
    language_confidence: float = 0.8

    def __post_init__(self) -> None:
        for name in ("step_s", "silence_s", "max_segment_s", "max_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"StreamOptions.{name} must be positive")
        if self.max_segment_s <= self.silence_s:
            raise ValueError("StreamOptions.max_segment_s must exceed silence_s")


@dataclass(frozen=True)
class Partial:
    """What to show while the user speaks: settled words, then words that may change."""

    confirmed: str
    tentative: str
    segment: int
    audio_s: float


@dataclass
class StreamResult:
    """The final result of a stream: raw transcript, corrected text, segments, timings."""

    raw: str
    text: str
    language: str
    duration: float
    segments: list[dict[str, Any]]
    correction: Correction | None = None
    timings: dict[str, float] = field(default_factory=dict)


Listener = Callable[[Partial], None]
"""Told of every new ``Partial`` of a stream."""
