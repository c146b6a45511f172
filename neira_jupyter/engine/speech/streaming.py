"""Streaming speech recognition: live PCM chunks in, stable partials and a final transcript out.

A browser sends 16 kHz mono PCM while the user speaks. Whisper is not a
streaming model, so ``StreamingRecognizer`` re-transcribes the growing audio
of the current *segment* on the resident ``WhisperTranscriber`` (through
the engine's ``decode_live``, i.e. on the scheduler's speech lane, with its
admission and per-user fairness) each time enough new audio has arrived, and
turns the successive hypotheses into partials that do not flicker:

* **Local agreement** (``agreement.LocalAgreement``): a word is *confirmed*
  once two successive hypotheses agree on it; confirmed words do not change
  while the segment lasts. The rest of the newest hypothesis is *tentative*.
* **Segments cut at silence** (``vad``): a voice activity detector marks
  each frame as speech or not. After
  ``silence_s`` of silence following speech, the segment is closed: it is
  transcribed once more, completely, and that decode's words are committed
  (they win over the confirmed words where the two differ: a decode that
  heard the whole segment is right more often than two that heard a prefix,
  and a pause is the least disturbing moment to fix a word); a new, empty
  segment starts. Committed segments never change. Buffers thus stay short
  (Whisper's cost does not grow with the whole recording) and a pause is a
  natural place to end a hypothesis. A segment that runs past
  ``max_segment_s`` without a pause is cut at its quietest frame. Audio with
  no speech at all is never decoded, which also keeps Whisper from
  hallucinating text on silence.

The VAD (faster-whisper's Silero, a small ONNX model) runs in a worker thread,
never on the event loop; ``benchmarks/bench_vad.py`` measured it at about
3 ms per 100 ms chunk, with the same segment-close delay as an energy
detector (about 0.6 s after the end of a sentence, ``silence_s`` included).

Decodes go through the engine's ``decode_live`` (the ``dispatch``
``SpeechDispatcher``): a stopped stream's final before a pause's segment
close before any partial, across all streams. At most one decode per stream
is waiting or running, and a partial's audio is read when the lane takes it
(``_partial_window``: the segment so far, with the frames the VAD has not
scored yet), so a loaded lane gives fewer, newer partials rather than a
backlog. The decodes run in a short window (``window``), without Whisper's
temperature fallback, and with language ``"auto"`` they use a language once
``language.LanguageTracker`` trusts a detection instead of detecting again.

With ``correct`` set, each committed segment is corrected while the stream
goes on (``live_correct.LiveCorrector``, the engine's ``correct`` in the
batch loop's segment class, which degrades to the raw words instead of
failing), and ``on_corrected`` hears each accepted correction.
``finish()`` closes the last segment, awaits the running segment correction
and corrects only what is left (the tail) in the urgent class, and returns
the ``StreamResult``: its text is the corrected segments in order. Partials
of other streams wait meanwhile (``hold_partials``). The recognizer is given those
calls, bound to its user (``stream_types.LiveCalls``); it never sees the engine.

This module imports nothing from Jupyter.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from ..types import BadRequest, EngineError
from .agreement import LocalAgreement
from .audio import SAMPLE_RATE
from .dispatch import Priority
from .language import LanguageTracker
from .live_correct import CorrectedListener, LiveCorrector, join_corrections
from .segment import SegmentBuffer
from .stream_types import (
    Listener,
    LiveCalls,
    Partial,
    StreamLimitReached,
    StreamOptions,
    StreamResult,
)
from .vad import FRAME, SpeechDetector
from .whisper import Transcript
from .window import MAX_WINDOW_S, Window

__all__ = ["StreamingRecognizer"]


class StreamingRecognizer:
    """One live stream for one user: ``feed`` PCM, get ``Partial``s, ``finish`` for the result."""

    def __init__(
        self,
        calls: LiveCalls,
        options: StreamOptions | None = None,
        on_partial: Listener | None = None,
        on_corrected: CorrectedListener | None = None,
    ) -> None:
        self.calls = calls
        self.options = options or StreamOptions()
        self.on_partial = on_partial
        self.corrector = LiveCorrector(calls.correct, on_corrected, self.options.correct_live)
        self.key = uuid.uuid4().hex  # this stream's place in the speech dispatcher
        self.error: EngineError | None = None
        self._language = LanguageTracker(self.options.language, self.options.language_confidence)
        self._vad = SpeechDetector(self.options.vad_threshold)
        self._pending = np.zeros(0, np.float32)  # samples not yet framed
        self._unscored: list[np.ndarray] = []  # whole frames the VAD has not seen yet
        self._segment = SegmentBuffer()
        self._decoded_frames = 0  # segment frames the last partial decode saw
        self._agreement = LocalAgreement()
        self._committed: list[str] = []
        self._segments: list[dict[str, Any]] = []
        self._total_frames = 0
        self._last_partial: tuple[str, str] | None = None
        self._wake = asyncio.Event()
        self._finishing = False
        self._worker = asyncio.get_running_loop().create_task(self._run())

    # -- input ----------------------------------------------------------------
    @property
    def language(self) -> str | None:
        """The stream's language so far (given, or detected); None before any detection."""
        return self._language.language

    @property
    def duration(self) -> float:
        """Seconds of audio received so far."""
        return (self._total_frames * FRAME + self._pending.size) / SAMPLE_RATE

    def feed(self, samples: np.ndarray) -> None:
        """Append float32 16 kHz mono samples.

        Past ``max_seconds`` the samples that fit are kept and the rest raises
        ``StreamLimitReached``: what was heard can still be finished.
        """
        if self._finishing:
            raise BadRequest("the stream is finishing; start a new one to send more audio")
        if self.error is not None:
            raise self.error
        chunk = np.asarray(samples, dtype=np.float32).reshape(-1)
        room = max(0, round((self.options.max_seconds - self.duration) * SAMPLE_RATE))
        if chunk.size > room:
            self._append(chunk[:room])
            raise StreamLimitReached(
                f"the stream reached its limit of {self.options.max_seconds:g} s; "
                "what was heard until then is kept and its final follows; "
                "start a new stream to go on"
            )
        self._append(chunk)

    def _append(self, chunk: np.ndarray) -> None:
        pending = np.concatenate([self._pending, chunk]) if self._pending.size else chunk
        whole = pending.size // FRAME * FRAME
        self._pending = pending[whole:].copy()
        self._add_frames(pending[:whole])

    def _add_frames(self, frames: np.ndarray) -> None:
        if not frames.size:
            return
        self._unscored.append(frames)
        self._total_frames += frames.size // FRAME
        self._wake.set()

    async def _score(self) -> None:
        """Run the VAD over the frames that arrived, in a thread (it is a model), and keep them."""
        if not self._unscored:
            return
        frames = np.concatenate(self._unscored)
        self._unscored = []
        rms, speech = await asyncio.to_thread(self._vad.frames, frames)
        self._segment.add(frames, rms, speech)

    # -- output -----------------------------------------------------------------
    async def finish(self) -> StreamResult:
        """Close the last segment, correct when asked, and return the result."""
        self._finishing = True
        if self._pending.size:  # pad the last partial frame with silence
            pad = np.zeros(FRAME - self._pending.size, np.float32)
            self._add_frames(np.concatenate([self._pending, pad]))
            self._pending = np.zeros(0, np.float32)
        stop_at = time.perf_counter()
        self.corrector.hurry()  # the tail and what still waits: corrected in the urgent class
        self.calls.drop(self.key)  # a waiting partial: the final covers its audio
        with self.calls.hold_partials():
            return await self._final(stop_at)

    async def _final(self, stop_at: float) -> StreamResult:
        self._wake.set()
        await self._worker
        if self.error is not None:
            await self.corrector.cancel()
            raise self.error
        raw = " ".join(self._committed)
        transcribed_at = time.perf_counter()
        language = self.language or "en"
        result = StreamResult(
            raw=raw,
            text=raw,
            language=language,
            duration=self.duration,
            segments=self._segments,
            timings={"finish_transcribe_ms": (transcribed_at - stop_at) * 1000},
        )
        if self.options.correct and raw:
            correction = join_corrections(raw, await self.corrector.finish())
            result.correction = correction
            result.text = correction.corrected
            result.timings["correct_ms"] = (time.perf_counter() - transcribed_at) * 1000
        result.timings["finish_ms"] = (time.perf_counter() - stop_at) * 1000
        return result

    async def cancel(self) -> None:
        """Stop decoding and drop the stream."""
        self._finishing = True
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        await self.corrector.cancel()

    # -- the decode loop -----------------------------------------------------------
    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                await self._score()
                while await self._step():
                    await self._score()
                if self._finishing and not self._unscored:
                    await self._close_segment(len(self._segment))
                    return
        except EngineError as exc:
            self.error = exc

    async def _step(self) -> bool:
        """Do the next piece of due work; False when there is none."""
        cut = self._segment.find_cut(self.options.silence_s, self.options.max_segment_s)
        if cut is not None:
            await self._close_segment(cut)
            return True
        if self._finishing:
            return False
        if self._segment.trim_leading_silence():
            self._decoded_frames = 0
        new_frames = len(self._segment) - self._decoded_frames
        if new_frames * FRAME >= self.options.step_s * SAMPLE_RATE and self._segment.heard():
            await self._partial()
            return True
        return False

    def _window(self, audio: np.ndarray, final: bool) -> Window:
        language = self._language.for_decode()
        return Window(audio, None if language == "auto" else language, final)

    async def _decode(
        self, priority: Priority, source: Callable[[], Window | None]
    ) -> Transcript | None:
        """Decode on the speech lane in ``priority``'s turn; None when there was nothing new."""
        transcript = await self.calls.decode(self.key, priority, source)
        if transcript is not None:
            self._language.observe(transcript, priority is not Priority.PARTIAL)
        return transcript

    def _partial_window(self) -> Window | None:
        """The segment's audio at dispatch time, frames not yet scored included."""
        frames = len(self._segment) + sum(f.size for f in self._unscored) // FRAME
        if self._finishing or frames <= self._decoded_frames or not self._segment.heard():
            return None
        audio = np.concatenate([*self._segment.frames, *self._unscored]).astype(np.float32)
        self._decoded_frames = frames
        return self._window(audio[-int(MAX_WINDOW_S * SAMPLE_RATE) :], final=False)

    async def _partial(self) -> None:
        transcript = await self._decode(Priority.PARTIAL, self._partial_window)
        if transcript is None:
            return
        self._agreement.update(transcript.text.split())
        self._emit()

    async def _close_segment(self, cut: int) -> None:
        """Transcribe frames ``[0, cut)`` of the segment completely and commit their words."""
        audio = self._segment.audio(cut) if cut and self._segment.heard(cut) else None
        start = self._segment.take(cut)
        self._decoded_frames = 0
        if audio is None:
            return
        window = self._window(audio, final=True)
        priority = Priority.STOP if self._finishing else Priority.SEGMENT
        transcript = await self._decode(priority, lambda: window)
        words = self._agreement.close(transcript.text.split() if transcript else [])
        if words:
            self._committed.extend(words)
            if self.options.correct:
                language = self.language or "auto"
                self.corrector.add(len(self._segments), " ".join(words), language)
            self._segments.append(
                {
                    "start": round(start * FRAME / SAMPLE_RATE, 3),
                    "end": round((start + cut) * FRAME / SAMPLE_RATE, 3),
                    "text": " ".join(words),
                }
            )
        self._emit()

    def _emit(self) -> None:
        confirmed = " ".join(self._committed + self._agreement.confirmed)
        tentative = " ".join(self._agreement.tentative)
        if (confirmed, tentative) == self._last_partial or self.on_partial is None:
            return
        self._last_partial = (confirmed, tentative)
        self.on_partial(
            Partial(
                confirmed, tentative, len(self._segments), self._total_frames * FRAME / SAMPLE_RATE
            )
        )
