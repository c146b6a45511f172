"""Fuzzed audio: damaged WAV, FLAC, OGG, MP3 and WebM files are refused cleanly and stay small.

Hypothesis mutates the headers and bodies of real encoded clips (overwrite,
truncate, insert, duplicate a chunk) and feeds them to ``decode_audio``. Every
input either decodes to at most ``max_seconds`` of 16 kHz samples or raises
``BadRequest``; nothing else escapes, and the memory one decode allocates
stays bounded by the limit, not by what the file claims.
"""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neira_jupyter.engine.speech import SAMPLE_RATE, decode_audio
from neira_jupyter.engine.types import BadRequest
from tests.support.audio_fixtures import FORMATS, SENTENCES, convert, speak

MAX_SECONDS = 2.0
# the samples we may keep plus the resampler's and PyAV's buffers for one frame
MEMORY_BOUND = int(MAX_SECONDS * SAMPLE_RATE * 4 * 4) + 8 * 1024 * 1024


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("fuzz")
    wav = speak(SENTENCES["en"][0], "en", folder)
    found = {"wav": wav.read_bytes()}
    found.update({fmt: convert(wav, fmt).read_bytes() for fmt in FORMATS})
    return found


@st.composite
def mutations(draw: st.DrawFn, size: int) -> list[tuple[str, int, bytes]]:
    """A few edits, most of them in the first 512 bytes where the headers live."""
    edits = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["overwrite", "truncate", "insert", "repeat"]))
        limit = draw(st.sampled_from([min(size, 512), size])) - 1
        at = draw(st.integers(0, max(0, limit)))
        payload = draw(st.binary(min_size=1, max_size=16))
        edits.append((kind, at, payload))
    return edits


def apply(data: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, at, payload in edits:
        at = min(at, len(out))
        if kind == "overwrite":
            out[at : at + len(payload)] = payload
        elif kind == "truncate":
            del out[at:]
        elif kind == "insert":
            out[at:at] = payload
        else:  # repeat a chunk of the file in place: duplicated headers and packets
            out[at:at] = out[at : at + 4096]
    return bytes(out)


def decode_bounded(data: bytes) -> tuple[np.ndarray | None, int]:
    """Decode under tracemalloc; returns the samples (None when refused) and the peak bytes."""
    tracemalloc.start()
    try:
        try:
            samples: np.ndarray | None = decode_audio(data, max_seconds=MAX_SECONDS)
        except BadRequest:
            samples = None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return samples, peak


@pytest.mark.parametrize("fmt", ["wav", *sorted(FORMATS)])
def test_damaged_files_decode_bounded_or_are_refused(fmt: str, clips: dict[str, bytes]) -> None:
    data = clips[fmt]

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutations(len(data)))
    def check(edits: list[tuple[str, int, bytes]]) -> None:
        samples, peak = decode_bounded(apply(data, edits))
        if samples is not None:
            assert samples.dtype == np.float32
            assert samples.size <= MAX_SECONDS * SAMPLE_RATE + SAMPLE_RATE // 10
        assert peak < MEMORY_BOUND, f"decode allocated {peak} bytes"

    check()


def wav_header(rate: int, channels: int, data_bytes: int) -> bytes:
    block = channels * 2
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


@pytest.mark.parametrize(
    "rate, channels, message",
    [(1, 1, "sample rate"), (8_000_000, 1, "sample rate"), (16000, 64, "channels")],
)
def test_implausible_formats_are_refused(rate: int, channels: int, message: str) -> None:
    data = wav_header(rate, channels, 3200) + b"\x01\x00" * 1600
    with pytest.raises(BadRequest, match=message):
        decode_audio(data, max_seconds=MAX_SECONDS)


def test_a_file_that_claims_little_but_holds_more_stops_at_the_limit() -> None:
    """The header says 0.1 s; the data holds 30 s. The decode stops at the limit."""
    pcm = np.zeros(30 * 16000, dtype="<i2").tobytes()
    data = wav_header(16000, 1, 3200) + pcm
    samples, peak = decode_bounded(data)
    assert samples is None or samples.size <= MAX_SECONDS * SAMPLE_RATE + SAMPLE_RATE // 10
    assert peak < MEMORY_BOUND


def test_a_non_audio_codec_is_refused(tmp_path: Path) -> None:
    """A WAV file whose audio uses a codec outside the whitelist (ADPCM)."""
    import av

    target = tmp_path / "adpcm.wav"
    with av.open(str(target), "w", format="wav") as out:
        stream = out.add_stream("adpcm_ms", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 2048), dtype=np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            out.mux(packet)
        out.mux(stream.encode(None))
    with pytest.raises(BadRequest, match="codec"):
        decode_audio(target.read_bytes(), max_seconds=MAX_SECONDS)
