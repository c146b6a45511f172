"""Speech or silence, frame by frame, for a live stream: faster-whisper's Silero VAD.

``SpeechDetector`` takes whole frames of ``FRAME`` samples (32 ms at 16 kHz,
Silero's window) as they arrive and says, for each, how loud it is (RMS, used
to cut an over-long segment at its quietest point) and whether it is speech.
Silero scores each window with a speech probability; a frame counts as speech
from the moment the probability reaches ``threshold`` until it falls below
``threshold - 0.15`` (the hysteresis faster-whisper's own
``get_speech_timestamps`` uses).

faster-whisper's ``SileroVADModel`` starts from a fresh recurrent state on
every call, so each call re-reads the last ``CONTEXT_FRAMES`` frames before
the new ones and keeps only the new frames' scores: the state has warmed up
by then, and the cost per call stays bounded however long the stream runs.
The model is loaded on the first call, once per process (``get_vad_model``
caches it), and runs on one CPU thread; ``frames`` is blocking, for a worker
thread.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CONTEXT_FRAMES", "FRAME", "SpeechDetector"]

FRAME = 512
"""Samples per VAD frame (32 ms at 16 kHz): one Silero window."""

CONTEXT_FRAMES = 8
"""Frames of past audio re-read before new ones (0.26 s) so Silero's state is warm."""


class SpeechDetector:
    """Per-frame loudness and speech flags of one live stream."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self.neg_threshold = max(threshold - 0.15, 0.01)
        self._context = np.zeros(0, np.float32)
        self._speaking = False

    def frames(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """RMS and speech flag of each whole frame of ``samples`` (a multiple of ``FRAME``)."""
        count = samples.size // FRAME
        if count == 0:
            return np.zeros(0, np.float32), np.zeros(0, bool)
        new = samples[: count * FRAME].astype(np.float32, copy=False)
        blocks = new.reshape(count, FRAME).astype(np.float64)
        rms = np.sqrt(np.mean(blocks * blocks, axis=1)).astype(np.float32)
        from faster_whisper.vad import get_vad_model  # loaded once per process, then cached

        audio = np.concatenate([self._context, new])
        probs = np.asarray(get_vad_model()(audio, num_samples=FRAME)).reshape(-1)
        self._context = audio[-CONTEXT_FRAMES * FRAME :]
        speech = np.zeros(count, bool)
        for i, prob in enumerate(probs[-count:]):
            if prob >= self.threshold:
                self._speaking = True
            elif prob < self.neg_threshold:
                self._speaking = False
            speech[i] = self._speaking
        return rms, speech
