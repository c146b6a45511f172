"""Live-stream VAD: faster-whisper's Silero (``engine.transcription.speech.vad``) against an
energy detector.

Both detectors get the same 16 kHz stream in 100 ms chunks, as the browser
sends it, and the benchmark prints for each:

* **cost**: milliseconds per 100 ms chunk (mean, p95, max). The detector runs
  in ``StreamingRecognizer.feed``, on the server's event loop, so this is time
  every other request on that loop waits.
* **cut delay**: from the end of each sentence to the frame at which a segment
  would close (``silence_s`` = 0.6 s of non-speech after speech, the
  recognizer's rule). This adds directly to end-of-speech -> final latency.
* **missed**: sentence ends after which no cut came before the next sentence
  (the pause was not heard); **false speech**: share of pause frames flagged
  as speech.

The stream is espeak-ng sentences (``tests.support.audio_fixtures``) with 1.0 s pauses,
clean (digital silence) and with white noise added at two levels (a quiet room,
a laptop microphone). The energy detector is the one the stream used before
Silero: RMS per 30 ms frame against 4x an adaptive noise floor (20th
percentile of recent frames), never below 0.006. Usage::

    python benchmarks/bench_vad.py
"""

from __future__ import annotations

import statistics
import sys
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neira_jupyter.engine.speech import FRAME, SpeechDetector  # noqa: E402
from tests.support.audio_fixtures import SENTENCES, speak  # noqa: E402

RATE = 16000
CHUNK = 1600  # 100 ms
SILENCE_S = 0.6
PAUSE_S = 1.0


class EnergyDetector:
    """The baseline: RMS per 30 ms frame against an adaptive noise floor."""

    frame = 480

    def __init__(self, min_level: float = 0.006) -> None:
        self.min_level = min_level
        self._levels: list[float] = []

    def frames(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        count = samples.size // self.frame
        blocks = samples[: count * self.frame].reshape(count, self.frame).astype(np.float64)
        rms = np.sqrt(np.mean(blocks * blocks, axis=1))
        self._levels.extend(float(x) for x in rms)
        floor = float(np.percentile(self._levels[-1000:], 20)) if len(self._levels) >= 10 else 0
        return rms.astype(np.float32), rms > max(self.min_level, 4.0 * floor)


def stream_of(noise_dbfs: float | None, seed: int = 0) -> tuple[np.ndarray, list[float]]:
    """The sentences with pauses, optionally over white noise, and each sentence's end (s)."""
    audio_dir = ROOT / ".cache" / "bench_audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    pieces: list[np.ndarray] = []
    ends: list[float] = []
    at = 0
    for text in SENTENCES["en"]:
        path = speak(text, "en", audio_dir)
        with wave.open(str(path)) as clip:
            samples = np.frombuffer(clip.readframes(clip.getnframes()), "<i2") / 32768.0
        loud = np.flatnonzero(np.abs(samples) > 0.01)
        ends.append((at + int(loud[-1])) / RATE)
        pieces += [samples, np.zeros(int(PAUSE_S * RATE))]
        at += samples.size + int(PAUSE_S * RATE)
    audio = np.concatenate(pieces).astype(np.float32)
    if noise_dbfs is not None:
        rng = np.random.default_rng(seed)
        audio += (rng.standard_normal(audio.size) * 10 ** (noise_dbfs / 20)).astype(np.float32)
    return audio, ends


@dataclass
class Run:
    costs: list[float]  # ms per chunk
    flags: list[bool]  # speech per frame
    frame: int  # samples per frame


def run(make: Callable[[], EnergyDetector | SpeechDetector], audio: np.ndarray) -> Run:
    detector = make()
    frame = detector.frame if isinstance(detector, EnergyDetector) else FRAME
    costs: list[float] = []
    flags: list[bool] = []
    pending = np.zeros(0, np.float32)
    for start in range(0, audio.size, CHUNK):
        pending = np.concatenate([pending, audio[start : start + CHUNK]])
        whole = pending.size // frame * frame
        began = time.perf_counter()
        _rms, speech = detector.frames(pending[:whole])
        costs.append((time.perf_counter() - began) * 1000)
        flags.extend(bool(x) for x in speech)
        pending = pending[whole:]
    return Run(costs, flags, frame)


def cuts(flags: list[bool], frame: int) -> list[float]:
    """Times (s) at which the recognizer's rule would close a segment."""
    need = int(SILENCE_S * RATE / frame)
    out: list[float] = []
    heard, quiet = False, 0
    for i, voiced in enumerate(flags):
        if voiced:
            heard, quiet = True, 0
            continue
        quiet += 1
        if heard and quiet == need:
            out.append((i + 1) * frame / RATE)
            heard = False
    return out


def score(result: Run, ends: list[float]) -> dict[str, float]:
    frame, flags, costs = result.frame, result.flags, result.costs
    found = cuts(flags, frame)
    delays, missed = [], 0
    for end in ends:
        after = [t - end for t in found if end <= t < end + PAUSE_S + 0.5]
        if after:
            delays.append(after[0])
        else:
            missed += 1
    pause = [
        flags[i]
        for i in range(len(flags))
        if any(end + 0.15 < i * frame / RATE < end + PAUSE_S - 0.05 for end in ends)
    ]
    return {
        "cost_mean_ms": statistics.fmean(costs[1:]),
        "cost_p95_ms": float(np.percentile(costs[1:], 95)),
        "cost_max_ms": max(costs[1:]),
        "first_chunk_ms": costs[0],
        "cut_delay_ms": statistics.fmean(delays) * 1000 if delays else float("nan"),
        "missed": missed,
        "false_speech_pct": 100 * sum(pause) / max(1, len(pause)),
    }


def main() -> None:
    began = time.perf_counter()
    SpeechDetector().frames(
        np.zeros(FRAME, np.float32)
    )  # load the model once, as the first stream does
    print(f"Silero model load (first stream only): {(time.perf_counter() - began) * 1000:.0f} ms")
    for label, noise in (("clean", None), ("noise -50 dBFS", -50.0), ("noise -40 dBFS", -40.0)):
        audio, ends = stream_of(noise)
        print(f"\n{label}: {audio.size / RATE:.1f} s, {len(ends)} sentences")
        print(
            f"  {'detector':8} {'mean':>6} {'p95':>6} {'max':>6}  {'cut delay':>9}  missed  false"
        )
        makers: dict[str, Callable[[], EnergyDetector | SpeechDetector]] = {
            "energy": EnergyDetector,
            "silero": SpeechDetector,
        }
        for name, make in makers.items():
            s = score(run(make, audio), ends)
            print(
                f"  {name:8} {s['cost_mean_ms']:6.2f} {s['cost_p95_ms']:6.2f} "
                f"{s['cost_max_ms']:6.2f}  {s['cut_delay_ms']:7.0f}ms  {s['missed']:>6.0f}  "
                f"{s['false_speech_pct']:4.0f}%"
            )
    print("\ncost: ms per 100 ms chunk; cut delay: sentence end -> segment close (0.6 s rule)")


if __name__ == "__main__":
    main()
