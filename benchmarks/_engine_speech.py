"""Part 2 of ``bench_engine.py``: direct faster-whisper vs ``POST api/transcribe?correct=false``.

The direct path runs ``faster_whisper.WhisperModel`` as the server's
``WhisperTranscriber`` calls it (``BEAM_SIZE``, no VAD, language
``SPEECH_LANGUAGE``) and is timed twice: ``transcribe`` on the samples alone
(the model work only) and with faster-whisper's own ``decode_audio`` of the
file before it. Real-time factor (RTF) = processing time / audio duration.
Every clip is transcribed by both paths each round, in an order that swaps
from clip to clip and round to round, after one warm-up each.
"""

from __future__ import annotations

import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _machine import med

BEAM_SIZE = 1  # WhisperTranscriber.transcribe's default, which the server uses
SPEECH_LANGUAGE = "en"


def wav_seconds(path: Path) -> float:
    """The duration of a WAV file, in seconds."""
    with wave.open(str(path)) as source:
        return source.getnframes() / source.getframerate()


def transcribe_direct(model: Any, clip: Path) -> tuple[float, float, str]:
    """faster-whisper's ``decode_audio`` on the file, then ``transcribe`` on the samples as
    the server's WhisperTranscriber calls it; (decode seconds, transcribe seconds, text)."""
    from faster_whisper import decode_audio

    started = time.perf_counter()
    samples = decode_audio(str(clip))  # what transcribe(path) would do; ends with gc.collect()
    decoded = time.perf_counter()
    pieces, _info = model.transcribe(
        samples, language=SPEECH_LANGUAGE, vad_filter=False, beam_size=BEAM_SIZE
    )
    texts = [piece.text.strip() for piece in pieces]  # decoding is lazy: consume it
    return decoded - started, time.perf_counter() - decoded, " ".join(t for t in texts if t)


def transcribe_server(
    client: Any, clip: Path, language: str = SPEECH_LANGUAGE
) -> tuple[float, str, dict[str, Any]]:
    """``POST api/transcribe?correct=false``; (seconds, raw text, the whole answer)."""
    started = time.perf_counter()
    answer = client.transcribe(clip, language=language, correct=False)
    return time.perf_counter() - started, answer["raw"], answer


@dataclass
class SpeechRuns:
    """Every transcription of both paths, the server's own timings, its transcripts."""

    direct_rtf: list[float] = field(default_factory=list)  # transcribe only
    direct_file_rtf: list[float] = field(default_factory=list)  # decode_audio + transcribe
    direct_decode_ms: list[float] = field(default_factory=list)
    server_rtf: list[float] = field(default_factory=list)
    server_decode_ms: list[float] = field(default_factory=list)
    server_transcribe_ms: list[float] = field(default_factory=list)
    same_text: int = 0
    raw: dict[Path, str] = field(default_factory=dict)  # the server's transcript of each clip


def speech_rounds(runs: int, clips: list[Path]) -> int:
    """Rounds over every clip so that each path transcribes at least ``runs`` times."""
    return -(-runs // len(clips))


def bench_speech(model: Any, client: Any, clips: list[Path], runs: int) -> SpeechRuns:
    """``speech_rounds`` rounds over ``clips`` on both paths, after one warm-up each."""
    transcribe_direct(model, clips[0])  # warm-up
    transcribe_server(client, clips[0])
    result = SpeechRuns()
    for index in range(speech_rounds(runs, clips)):
        for number, clip in enumerate(clips):
            seconds = wav_seconds(clip)
            swap = (index + number) % 2 == 1
            texts: dict[str, str] = {}
            for path in ("server", "direct") if swap else ("direct", "server"):
                if path == "direct":
                    decode, elapsed, texts[path] = transcribe_direct(model, clip)
                    result.direct_rtf.append(elapsed / seconds)
                    result.direct_file_rtf.append((decode + elapsed) / seconds)
                    result.direct_decode_ms.append(decode * 1000)
                else:
                    elapsed, texts[path], answer = transcribe_server(client, clip)
                    result.server_rtf.append(elapsed / seconds)
                    timings = answer.get("timings") or {}
                    if "decode_ms" in timings:
                        result.server_decode_ms.append(timings["decode_ms"])
                    if "transcribe_ms" in timings:
                        result.server_transcribe_ms.append(timings["transcribe_ms"])
                    result.raw[clip] = texts[path]
            result.same_text += texts["direct"] == texts["server"]
    return result


def print_speech(sp: SpeechRuns, runs: int, clips: list[Path]) -> None:
    """The part's table: RTF per path, the ratios, the decode and transcribe times."""
    total = sum(wav_seconds(c) for c in clips)
    rounds = speech_rounds(runs, clips)
    print("== 2. transcription: direct faster-whisper vs POST api/transcribe?correct=false ==")
    print(
        f"{len(clips)} English espeak-ng clips ({total:.1f} s of audio in all), Whisper base "
        f"(language {SPEECH_LANGUAGE!r}); {rounds} round(s) over every clip = "
        f"{len(sp.direct_rtf)} transcriptions per path, alternating, after 1 warm-up each; "
        "RTF = processing time / audio duration"
    )
    rows = (
        ("direct: transcribe(samples)", sp.direct_rtf),
        ("direct: decode_audio(file) + transcribe", sp.direct_file_rtf),
        ("server: POST api/transcribe (client side)", sp.server_rtf),
    )
    print(f"  {'path':42} {'RTF median':>11} {'min':>7} {'max':>7}")
    for name, values in rows:
        print(f"  {name:42} {med(values):11.3f} {min(values):7.3f} {max(values):7.3f}")
    d, f, s = (med(values) for _, values in rows)
    print(
        f"  ratio server/direct: RTF x{s / d:.2f} against transcribe(samples), "
        f"x{s / f:.2f} against decode_audio(file) + transcribe"
    )

    def ms(values: list[float]) -> str:
        return f"{med(values):.1f} ms" if values else "not reported"

    print(
        f"  faster_whisper.decode_audio(file): median {ms(sp.direct_decode_ms)} "
        "(it ends with gc.collect(), which costs more the bigger the process's heap)"
    )
    print(
        f"  server's own timings (medians): decode_ms {ms(sp.server_decode_ms)}, "
        f"transcribe_ms {ms(sp.server_transcribe_ms)}"
    )
    print(f"  identical text on both paths: {sp.same_text}/{len(sp.direct_rtf)} transcriptions")
