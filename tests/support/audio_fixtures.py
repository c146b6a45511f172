"""Speech clips without recordings: espeak-ng + sox, and re-encoding with PyAV.

Shared by the tests and the benchmarks::

    from tests.support.audio_fixtures import SENTENCES, speak, convert

``speak`` makes a 16 kHz mono 16-bit WAV (espeak-ng's American English voice
for ``"en"``: tiny.en understands it better than the default British one).
``convert`` re-encodes a WAV as FLAC, OGG/Opus, MP3 or WebM/Opus with PyAV's
built-in encoders; the WebM is written to a non-seekable sink, as a browser's
MediaRecorder writes it (no duration in the header). Both cache their output
by content, and write through a temporary name so parallel runs do not clash.

``SENTENCES`` are the reference texts (ground truth for word error rate);
avoid numbers in them (Whisper writes "10", the reference "ten").
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        "The quick brown fox jumps over the lazy dog.",
        "Please send the report to my manager before Friday.",
        "We need to buy milk, bread and eggs.",
        "Open the notebook and run every cell.",
        "I would like a cup of coffee, please.",
    ),
    "ru": (
        "Съешь же ещё этих мягких французских булок, да выпей чаю.",
        "Пожалуйста, отправьте отчёт руководителю до пятницы.",
        "Завтра утром у нас совещание.",
        "Откройте блокнот и запустите все ячейки.",
    ),
}

VOICES = {"en": "en-us", "ru": "ru"}

# format -> (PyAV container format, encoder, sample rate); Opus only runs at 48 kHz.
FORMATS: dict[str, tuple[str, str, int]] = {
    "flac": ("flac", "flac", 16000),
    "ogg": ("ogg", "libopus", 48000),
    "mp3": ("mp3", "libmp3lame", 16000),
    "webm": ("webm", "libopus", 48000),
}


def _publish(write: Callable[[Path], None], target: Path) -> Path:
    """Call ``write(tmp_path)`` and move the result to ``target`` atomically."""
    fd, name = tempfile.mkstemp(dir=target.parent, suffix=target.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def to_16k_mono(source: Path, target: Path) -> None:
    """Resample a speech clip to what Whisper takes: 16 kHz, mono, 16-bit (sox)."""
    subprocess.run(
        ["sox", str(source), "-r", "16000", "-c", "1", "-b", "16", str(target)],
        check=True,
        capture_output=True,
    )


def speak(text: str, lang: str, directory: Path) -> Path:
    """A 16 kHz mono 16-bit WAV of ``text`` spoken by espeak-ng in ``lang`` ("en" or "ru")."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed (apt-get install -y espeak-ng sox)")
    digest = hashlib.sha256(f"{lang}\0{text}".encode()).hexdigest()[:16]
    target = Path(directory) / f"speech-{lang}-{digest}.wav"
    if target.exists():
        return target

    def write(tmp: Path) -> None:
        raw = tmp.with_suffix(".raw.wav")
        try:
            subprocess.run(
                ["espeak-ng", "-v", VOICES.get(lang, lang), "-w", str(raw), "--stdin"],
                input=text.encode(),
                check=True,
                capture_output=True,
            )
            to_16k_mono(raw, tmp)
        finally:
            raw.unlink(missing_ok=True)

    return _publish(write, target)


class _Unseekable(io.RawIOBase):
    """A write-only sink that cannot seek, like a browser's MediaRecorder output."""

    def __init__(self, out: io.BufferedWriter) -> None:
        self._out = out

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._out.write(data)


def convert(wav: Path, fmt: str) -> Path:
    """Re-encode ``wav`` as ``fmt`` (flac, ogg, mp3, webm) beside it; cached."""
    import av
    from av.audio.resampler import AudioResampler

    container_format, codec, rate = FORMATS[fmt]
    target = wav.with_suffix(f".{fmt}")
    if target.exists():
        return target

    def write(tmp: Path) -> None:
        with tmp.open("wb") as raw_out:
            sink: Any = _Unseekable(raw_out) if fmt == "webm" else raw_out
            with av.open(str(wav)) as src, av.open(sink, "w", format=container_format) as dst:
                stream: Any = dst.add_stream(codec, rate=rate, layout="mono")
                resampler = AudioResampler(
                    format=stream.codec_context.format.name, layout="mono", rate=rate
                )
                frames = [*src.decode(audio=0), None]  # None flushes the resampler
                for frame in frames:
                    for out in resampler.resample(frame):
                        dst.mux(stream.encode(out))
                dst.mux(stream.encode(None))

    return _publish(write, target)
