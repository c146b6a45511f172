"""``LiveCorrector``: a live stream's committed segments corrected while the user goes on speaking.

The recognizer hands each committed segment's words to ``add``. One task per
stream corrects them in order through the engine's ``correct`` (the batch
loop's ``Latency.SEGMENT`` class: below a stopped stream's final, above
ordinary generations), each with the stream's earlier corrections as context
(``CorrectionContext``: it grows by one turn per correction, so each prompt
continues the one before and only the new segment is read, the rest coming
from the model's cache; past ``MAX_CONTEXT_WORDS`` it starts again from the
last correction).
Segments committed while a correction runs wait and are corrected together
next (up to ``MAX_JOINED_WORDS`` words at once), so a loaded engine gives
fewer, longer corrections instead of a queue of short ones. Every
correction goes through the corrector's guard and word-by-word merge on its
own: a rejected one comes back as the raw words (``Correction.degraded``),
so nothing shown ever holds a rejected answer.

``hurry`` (at ``stop``) puts the corrections still to come in the
``Latency.URGENT`` class and starts them side by side (the batch loop
decodes them together; all have the same context, read once);
``finish`` awaits the running one (it is not redone) and the rest, and
``join_corrections`` makes the stream's one ``Correction`` of them: the
final text is the corrected segments, in order.

``correct_in_pieces`` does the same for a whole text (``POST api/correct``
with ``stream``): its sentences (``sentence_pieces``) corrected in order,
with the same growing context, each given out as soon as it is done.

Made with ``live=False`` (``NeiraApp.live_correction`` off), the corrector
only collects the segments until ``hurry``, and corrects them all then.

This module imports nothing from Jupyter.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from ..correct import Correction, accepted
from ..types import Latency

__all__ = [
    "CorrectedListener",
    "CorrectedSegments",
    "CorrectionContext",
    "LiveCorrector",
    "correct_in_pieces",
    "join_corrections",
    "sentence_pieces",
]

MAX_JOINED_WORDS = 30
"""The most words of waiting segments corrected in one go (a longer correction risks the
correction timeout on a loaded machine: 8 joined segments timed out on 2 busy cores)."""

MAX_CONTEXT_WORDS = 60
"""The most raw words of earlier corrections a prompt carries as context. Growing turn by
turn, each prompt starts with the one before (read from the cache, not again); past this,
the context starts again from the last correction, and that prompt is read whole once."""

MIN_PIECE_WORDS = 6
"""A sentence shorter than this is corrected together with the next one."""

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n\s*")

CorrectCall = Callable[[str, str, Sequence[Correction], Latency], Awaitable[Correction]]


@dataclass
class CorrectionContext:
    """The earlier corrections a stream's next correction is given: accepted ones, in order,
    at most ``MAX_CONTEXT_WORDS`` raw words (then it starts again from the newest)."""

    turns: list[Correction] = field(default_factory=list)

    def add(self, correction: Correction) -> None:
        """Append ``correction`` when it can serve as context (a rejected one cannot)."""
        if not accepted(correction):
            return
        words = sum(len(c.raw.split()) for c in [*self.turns, correction])
        if words > MAX_CONTEXT_WORDS:
            self.turns = []
        self.turns.append(correction)


@dataclass(frozen=True)
class CorrectedSegments:
    """Committed segments ``[first, end)`` of a stream, corrected together.

    ``covered_words``: the stream's raw words corrected so far, these included
    (the first ``covered_words`` words of a partial's ``confirmed`` text).
    """

    first: int
    end: int
    correction: Correction
    covered_words: int


CorrectedListener = Callable[[CorrectedSegments], None]
"""Told of every correction of a stream's segments, as soon as it is accepted (or rejected)."""


class LiveCorrector:
    """Corrects one stream's committed segments in order: one correction at a time while
    the stream runs, the rest side by side once it stopped."""

    def __init__(
        self,
        correct: CorrectCall,
        on_corrected: CorrectedListener | None = None,
        live: bool = True,
    ) -> None:
        self._correct = correct
        self.on_corrected = on_corrected
        self._live = live  # False: segments wait for ``hurry``
        self._waiting: list[tuple[int, str, str]] = []  # (segment, raw words, language)
        self._task: asyncio.Task[None] | None = None
        self._latency = Latency.SEGMENT
        self._covered = 0
        self._context = CorrectionContext()
        self.done: list[CorrectedSegments] = []

    @property
    def running(self) -> bool:
        """Whether a correction is running or waiting."""
        return self._task is not None

    def add(self, segment: int, words: str, language: str) -> None:
        """Correct committed segment ``segment`` (its raw ``words``) after the ones before it."""
        if not words.strip():
            return
        self._waiting.append((segment, words, language))
        self._start()

    def _start(self) -> None:
        urgent = self._latency is Latency.URGENT
        if self._task is None and self._waiting and (self._live or urgent):
            self._task = asyncio.get_running_loop().create_task(self._run())

    def hurry(self) -> None:
        """The stream stopped: the corrections still to start go in the urgent class."""
        self._latency = Latency.URGENT
        self._start()

    async def finish(self) -> list[CorrectedSegments]:
        """Await the running correction and the waiting ones; every segment's, in order."""
        self.hurry()
        if self._task is not None:
            await asyncio.shield(self._task)
        return self.done

    async def cancel(self) -> None:
        """Drop the waiting segments and cancel the running correction (its job with it)."""
        self._waiting = []
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _take(self) -> list[tuple[int, str, str]]:
        """The next waiting segments to correct together (``MAX_JOINED_WORDS`` at most)."""
        taken, words = 0, 0
        while taken < len(self._waiting):
            words += len(self._waiting[taken][1].split())
            if taken and words > MAX_JOINED_WORDS:
                break
            taken += 1
        batch, self._waiting = self._waiting[:taken], self._waiting[taken:]
        return batch

    async def _run(self) -> None:
        try:
            while self._waiting:
                batches = [self._take()]
                while self._latency is Latency.URGENT and self._waiting:
                    batches.append(self._take())  # stopped: the rest side by side
                context = list(self._context.turns)
                latency = self._latency
                raws = [" ".join(words for _, words, _ in batch) for batch in batches]
                corrections = await asyncio.gather(
                    *(
                        self._correct(raw, batch[-1][2], context, latency)
                        for raw, batch in zip(raws, batches, strict=True)
                    )
                )
                for raw, batch, correction in zip(raws, batches, corrections, strict=True):
                    self._context.add(correction)
                    self._covered += len(raw.split())
                    corrected = CorrectedSegments(
                        batch[0][0], batch[-1][0] + 1, correction, self._covered
                    )
                    self.done.append(corrected)
                    if self.on_corrected is not None:
                        self.on_corrected(corrected)
        finally:
            if self._task is asyncio.current_task():
                self._task = None


def join_corrections(raw: str, parts: list[CorrectedSegments]) -> Correction:
    """The stream's correction: its segments' corrections joined in order.

    Degraded when any part is (its reason says which segments and why); the
    model and route are the last answer's.
    """
    corrections = [part.correction for part in parts]
    reasons = [
        f"segments {p.first + 1}-{p.end}: {p.correction.reason}"
        if p.end - p.first > 1
        else f"segment {p.first + 1}: {p.correction.reason}"
        for p in parts
        if p.correction.degraded
    ]
    answered = [c for c in corrections if c.model is not None]
    codes = [c.reason_code for c in corrections if c.reason_code is not None]
    return Correction(
        raw=raw,
        corrected=" ".join(c.corrected for c in corrections if c.corrected.strip()),
        degraded=bool(reasons),
        reason="; ".join(reasons) or None,
        language=corrections[-1].language if corrections else "en",
        model=answered[-1].model if answered else None,
        route=answered[-1].route if answered else None,
        changes=[change for c in corrections for change in c.changes],
        timings={"total_ms": sum(c.timings.get("total_ms", 0.0) for c in corrections)},
        reason_code=codes[0] if codes else None,
    )


def sentence_pieces(text: str) -> list[tuple[str, str]]:
    """``text`` cut after each sentence and line: (piece, the whitespace after it) in order.

    A piece has at least ``MIN_PIECE_WORDS`` words (short sentences join the
    next), except the last; joining each piece and its whitespace gives ``text``
    back without its leading and trailing whitespace.
    """
    pieces: list[tuple[str, str]] = []
    start, pending = 0, ""
    stripped = text.strip()
    for match in _SENTENCE_END.finditer(stripped):
        piece = pending + stripped[start : match.start()]
        start = match.end()
        if len(piece.split()) < MIN_PIECE_WORDS:
            pending = piece + match.group()
            continue
        pieces.append((piece, match.group()))
        pending = ""
    last = pending + stripped[start:]
    if last.strip():
        pieces.append((last, ""))
    elif pieces:
        pieces[-1] = (pieces[-1][0], "")
    return pieces


async def correct_in_pieces(
    correct: CorrectCall, pieces: list[str], language: str, latency: Latency
) -> AsyncIterator[CorrectedSegments]:
    """Correct ``pieces`` in order, each with the earlier ones' corrections as context."""
    context = CorrectionContext()
    covered = 0
    for index, piece in enumerate(pieces):
        correction = await correct(piece, language, list(context.turns), latency)
        covered += len(piece.split())
        context.add(correction)
        yield CorrectedSegments(index, index + 1, correction, covered)
