"""Short-window Whisper decodes: the encoder runs on the audio's length, not on 30 s.

Whisper's reference decoding (and faster-whisper's ``transcribe``) pads every
window to 30 s before the encoder, so a 2 s live partial costs as much
encoder work as 30 s of speech. CTranslate2's encoder accepts a shorter
mel spectrogram, so ``decode_windows`` pads a window only to its audio plus
``PAD_S`` of silence, rounded up to ``ROUND_S`` (the silence keeps Whisper
from inventing words at the window's edge: a window cut right after the
speech did), and a ``Window.final`` one to at least ``FINAL_MIN_S``.

Measured on the evaluation set (10 English espeak-ng and 10 Russian festival
sentences of 2-4 s, demo Whisper base, int8, 2 CPU threads; words-only WER):

| window | en WER | ru WER | time per clip |
| --- | --- | --- | --- |
| faster-whisper ``transcribe`` (30 s) | 0.099 | 0.294 | 0.98 s |
| audio + 1 s, rounded to 2 s (partials) | 0.143 | 0.281 | 0.17-0.20 s |
| at least 15 s (``final``) | 0.099 | 0.281 | 0.29-0.32 s |

so partials come 5x faster with slightly rougher English, and the decodes
whose words are committed keep the reference's accuracy at 3x its speed.

Several windows can be decoded in one call: their spectrograms are padded
to the longest and go through the encoder, language detection and the
decoder together. On CPU this buys nothing (a batch of eight 30 s windows
cost more than eight single calls), so the default batch on CPU is 1; on a
GPU one batched call is where the throughput comes from.

There is no temperature fallback here: a ``final`` window whose greedy text
looks wrong (compression ratio or average log probability past
faster-whisper's own thresholds) comes back ``suspect``, and the caller
decodes it again the reference way. A window Whisper marks as silence
(no-speech probability above 0.6 with a low log probability) comes back
empty, as in faster-whisper.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .audio import SAMPLE_RATE

__all__ = ["MAX_WINDOW_S", "Window", "WindowText", "decode_windows", "window_frames"]

MAX_WINDOW_S = 30.0
"""The longest audio one window may hold (Whisper's own window)."""

PAD_S = 1.0
ROUND_S = 2.0
FINAL_MIN_S = 15.0
HOP = 160  # samples per mel frame (10 ms)
MAX_TOKENS = 224  # Whisper's decoder limit is 448 with the prompt; faster-whisper uses half
COMPRESSION_LIMIT = 2.4
LOGPROB_LIMIT = -1.0
NO_SPEECH_LIMIT = 0.6


@dataclass(frozen=True)
class Window:
    """Audio of at most ``MAX_WINDOW_S`` to decode; ``language`` None means detect it.

    ``final``: the window's words will be committed, so it is decoded in a
    window of at least ``FINAL_MIN_S`` and checked for a suspect decode.
    """

    audio: np.ndarray
    language: str | None = None
    final: bool = False


@dataclass(frozen=True)
class WindowText:
    """A window's text, the language it was decoded in, and how sure Whisper was."""

    text: str
    language: str
    language_probability: float
    avg_logprob: float
    no_speech_prob: float
    suspect: bool
    decode_ms: float


def window_frames(window: Window) -> int:
    """Mel frames the encoder sees for ``window`` (``PAD_S``, ``ROUND_S``, ``FINAL_MIN_S``)."""
    seconds = math.ceil((window.audio.size / SAMPLE_RATE + PAD_S) / ROUND_S) * ROUND_S
    if window.final:
        seconds = max(seconds, FINAL_MIN_S)
    return int(min(MAX_WINDOW_S, seconds) * SAMPLE_RATE / HOP)


def decode_windows(model: Any, windows: list[Window]) -> list[WindowText]:
    """Decode ``windows`` in one encoder and one decoder call of ``model``.

    ``model`` is a loaded ``faster_whisper.WhisperModel``; every window must
    hold 1 to ``MAX_WINDOW_S`` seconds of float32 16 kHz mono samples.
    """
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

    started = time.perf_counter()
    length = max(window_frames(w) for w in windows)
    mels = []
    for window in windows:
        if not 0 < window.audio.size <= MAX_WINDOW_S * SAMPLE_RATE:
            raise ValueError("a window holds 1 sample to 30 s of audio")
        features = model.feature_extractor(window.audio)[:, :length]
        mels.append(np.pad(features, ((0, 0), (0, length - features.shape[1]))))
    encoded = model.encode(np.ascontiguousarray(np.stack(mels)))
    multilingual = bool(model.model.is_multilingual)
    detected: list[tuple[str, float]] = [("en", 1.0)] * len(windows)
    if multilingual and any(w.language is None for w in windows):
        detected = [
            (ranked[0][0][2:-2], float(ranked[0][1]))  # "<|ru|>" -> "ru"
            for ranked in model.model.detect_language(encoded)
        ]
    languages = [
        (w.language, 1.0) if w.language is not None else found
        for w, found in zip(windows, detected, strict=True)
    ]
    tokenizers = [
        Tokenizer(model.hf_tokenizer, multilingual, task="transcribe", language=code)
        for code, _ in languages
    ]
    # timestamp mode, as faster-whisper decodes: measured better for Russian than without
    prompts = [model.get_prompt(t, []) for t in tokenizers]
    results = model.model.generate(
        encoded,
        prompts,
        beam_size=1,
        max_length=MAX_TOKENS,
        return_scores=True,
        return_no_speech_prob=True,
        suppress_blank=True,
        suppress_tokens=get_suppressed_tokens(tokenizers[0], [-1]),
    )
    elapsed = (time.perf_counter() - started) * 1000
    texts = []
    for window, tokenizer, (code, probability), result in zip(
        windows, tokenizers, languages, results, strict=True
    ):
        tokens = result.sequences_ids[0]
        avg_logprob = float(result.scores[0]) * len(tokens) / (len(tokens) + 1)
        text = tokenizer.decode(tokens).strip()
        silent = result.no_speech_prob > NO_SPEECH_LIMIT and avg_logprob < LOGPROB_LIMIT
        suspect = (
            window.final
            and not silent
            and bool(text)
            and (get_compression_ratio(text) > COMPRESSION_LIMIT or avg_logprob < LOGPROB_LIMIT)
        )
        texts.append(
            WindowText(
                text="" if silent else text,
                language=code,
                language_probability=probability,
                avg_logprob=avg_logprob,
                no_speech_prob=float(result.no_speech_prob),
                suspect=suspect,
                decode_ms=elapsed,
            )
        )
    return texts
