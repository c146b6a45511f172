"""``SegmentBuffer``: the frames of a live stream's current segment, and where to cut it.

The recognizer keeps the audio of one segment at a time: whole ``FRAME``-sample
frames, each with its loudness and the VAD's speech flag. ``find_cut`` says
where the segment should end (a pause, or the quietest point of an over-long
one), ``take`` removes the frames before a cut, ``trim_leading_silence``
keeps silence before the first word short.
"""

from __future__ import annotations

import numpy as np

from .audio import SAMPLE_RATE
from .vad import FRAME

__all__ = ["SegmentBuffer"]


class SegmentBuffer:
    """Frames of the current segment with their RMS levels and speech flags."""

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []
        self.levels: list[float] = []
        self.speech: list[bool] = []
        self.start = 0  # frame index of the segment in the whole stream

    def __len__(self) -> int:
        return len(self.frames)

    def add(self, frames: np.ndarray, levels: np.ndarray, speech: np.ndarray) -> None:
        self.frames.extend(frames.reshape(-1, FRAME))
        self.levels.extend(float(x) for x in levels)
        self.speech.extend(bool(x) for x in speech)

    def heard(self, frames: int | None = None) -> bool:
        """Whether any of the first ``frames`` frames (default: all) is speech."""
        return any(self.speech[:frames])

    def audio(self, frames: int) -> np.ndarray:
        """The samples of the first ``frames`` frames."""
        return np.concatenate(self.frames[:frames]).astype(np.float32)

    def take(self, frames: int) -> int:
        """Drop the first ``frames`` frames; returns the stream frame index they started at."""
        start = self.start
        del self.frames[:frames], self.levels[:frames], self.speech[:frames]
        self.start += frames
        return start

    def trim_leading_silence(self, keep_s: float = 0.3) -> bool:
        """Keep at most ``keep_s`` of silence before speech; True when frames were dropped."""
        keep = int(keep_s * SAMPLE_RATE / FRAME)
        if self.heard() or len(self.speech) <= keep:
            return False
        self.take(len(self.speech) - keep)
        return True

    def find_cut(self, silence_s: float, max_segment_s: float) -> int | None:
        """Frame index where the segment should end, if it should.

        The first pause of ``silence_s`` after speech anywhere in the segment
        counts, not only one at its end: audio keeps arriving while a decode
        runs, so a pause may already lie behind the start of the next phrase.
        A segment longer than ``max_segment_s`` is cut at the quietest frame
        of its last 2 s.
        """
        silence_frames = int(silence_s * SAMPLE_RATE / FRAME)
        heard = False
        quiet = 0
        for index, voiced in enumerate(self.speech):
            if voiced:
                heard, quiet = True, 0
                continue
            quiet += 1
            if heard and quiet >= silence_frames:
                return index + 1 - silence_frames + silence_frames // 2
        if heard and len(self.speech) * FRAME >= max_segment_s * SAMPLE_RATE:
            window = int(2.0 * SAMPLE_RATE / FRAME)
            tail = self.levels[-window:]
            return len(self.speech) - len(tail) + int(np.argmin(tail)) + 1
        return None
