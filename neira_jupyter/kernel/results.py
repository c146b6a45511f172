"""What the magics hand back: ``NeiraResult``, ``TranscriptResult`` and ``GenerationStopped``.

``%%neira --out VAR`` stores a ``NeiraResult``; ``%transcribe --out VAR`` a
``TranscriptResult``, built from the server's answer by
``transcript_from_answer``. Both display themselves in a notebook.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .diff import WordChange, word_diff
from .render import extract_code, transcript_bundle

__all__ = ["GenerationStopped", "NeiraResult", "TranscriptResult", "transcript_from_answer"]


class GenerationStopped(KeyboardInterrupt):
    """The user interrupted a streaming answer; it was cancelled on the server.

    ``result`` holds the partial answer, when there was one.
    """

    def __init__(self, message: str, result: NeiraResult | None = None) -> None:
        super().__init__(message)
        self.result = result

    def _render_traceback_(self) -> list[str]:
        return [f"KeyboardInterrupt: {self}"]


@dataclass
class NeiraResult:
    """What ``%%neira --out VAR`` stores: the answer and how it was made."""

    text: str
    model: str = ""
    route: str = ""
    route_reason: str = ""
    finish_reason: str = "stop"
    usage: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float | None] = field(default_factory=dict)
    request_id: str = ""
    prompt: str = ""

    @property
    def code(self) -> str:
        """The first fenced code block of the answer (or the whole answer)."""
        return extract_code(self.text)

    def json(self) -> Any:
        """The answer parsed as JSON (a fenced block is unwrapped first)."""
        return json.loads(extract_code(self.text))

    def __str__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return self.text


@dataclass
class TranscriptResult:
    """What ``%transcribe --out VAR`` stores; it displays as raw, corrected and diff."""

    raw: str
    text: str
    language: str | None = None
    duration: float | None = None
    corrected: bool = False
    degraded: bool = False
    reason: str | None = None
    diff: list[WordChange] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float | None] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return transcript_bundle(
            raw=self.raw,
            corrected=self.text if self.corrected else None,
            diff=self.diff,
            language=self.language,
            duration=self.duration,
            degraded_reason=self.reason if self.degraded else None,
        )


def transcript_from_answer(answer: dict[str, Any]) -> TranscriptResult:
    """Turn the ``POST api/transcribe`` JSON into a ``TranscriptResult`` with its word diff."""
    raw = str(answer.get("raw") or "")
    correction = answer.get("correction")
    corrected = isinstance(correction, dict)
    text = str(answer.get("text") or raw)
    degraded = False
    reason: str | None = None
    diff: list[WordChange] = []
    if isinstance(correction, dict):
        text = str(correction.get("corrected") or text)
        degraded = bool(correction.get("degraded"))
        reason = correction.get("reason")
        diff = word_diff(raw, text, correction.get("changes"))
    duration = answer.get("duration")
    return TranscriptResult(
        raw=raw,
        text=text,
        language=answer.get("language"),
        duration=float(duration) if isinstance(duration, (int, float)) else None,
        corrected=corrected,
        degraded=degraded,
        reason=str(reason) if reason else None,
        diff=diff,
        segments=list(answer.get("segments") or []),
        timings=dict(answer.get("timings") or {}),
    )
