"""What a live stream works with: its options, what it reports, what it needs of the engine.

``StreamOptions`` says how one stream is transcribed, ``Partial`` is what to
show while the user speaks, ``StreamResult`` the stream's final result, and
``LiveCalls`` the engine's calls that ``streaming.StreamingRecognizer`` is
given (it never sees the engine itself).

This module imports nothing from Jupyter.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..correct import Correction
from ..types import BadRequest, Latency
from .dispatch import Priority
from .whisper import Transcript
from .window import Window

__all__ = [
    "Listener",
    "LiveCalls",
    "Partial",
    "StreamLimitReached",
    "StreamOptions",
    "StreamResult",
]


@dataclass(frozen=True)
class LiveCalls:
    """The engine's calls one live stream makes, bound to its user by whoever opens it.

    ``decode(key, priority, source)`` decodes a window in the speech lane's
    turn (None: nothing new, or dropped); ``drop(key)`` drops the stream's
    waiting partial; ``hold_partials()`` holds every stream's partials while
    it is entered; ``correct(text, language, context, latency)`` corrects
    a stretch of the transcript, with the corrections of the stretches before
    it as context, in the generation's ``Latency`` class.
    ``NeiraEngine.live_calls(user)`` builds them.
    """

    decode: Callable[[str, Priority, Callable[[], Window | None]], Awaitable[Transcript | None]]
    drop: Callable[[str], None]
    hold_partials: Callable[[], contextlib.AbstractContextManager[None]]
    correct: Callable[[str, str, Sequence[Correction], Latency], Awaitable[Correction]]


class StreamLimitReached(BadRequest):
    """The stream reached ``StreamOptions.max_seconds``: the audio up to it was kept."""

    status = 413


@dataclass(frozen=True)
class StreamOptions:
    """How one live stream is transcribed.

    ``step_s``: new audio that triggers another partial decode.
    ``silence_s``: silence after speech that closes a segment.
    ``max_segment_s``: longest segment before a forced cut.
    ``max_seconds``: longest stream; audio past it is refused (``StreamLimitReached``).
    ``vad_threshold``: the Silero speech probability at which a frame counts as speech.
    ``language_confidence``: with language ``"auto"``, the detection probability
    at which the stream trusts a detected language (``LanguageTracker``).
    ``correct_live``: with ``correct``, segments are corrected while the stream
    goes on; off, all of them after ``finish`` (``live_correct.LiveCorrector``).
    """

    language: str = "auto"
    correct: bool = True
    step_s: float = 0.5
    silence_s: float = 0.6
    max_segment_s: float = 20.0
    max_seconds: float = 600.0
    vad_threshold: float = 0.5
    language_confidence: float = 0.8
    correct_live: bool = True

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
