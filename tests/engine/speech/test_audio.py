"""Audio decoding: every accepted container, raw PCM, and the errors a user can cause."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from neira_jupyter.engine.speech import SAMPLE_RATE, decode_audio, pcm16le_to_float
from neira_jupyter.engine.types import BadRequest
from tests.support.audio_fixtures import FORMATS, SENTENCES, convert, speak


@pytest.fixture(scope="session")
def clip(audio_dir: Path) -> Path:
    return speak(SENTENCES["en"][0], "en", audio_dir)


@pytest.fixture(scope="session")
def reference(clip: Path) -> np.ndarray:
    """The clip's samples, read without PyAV."""
    data = clip.read_bytes()
    start = data.index(b"data") + 8
    return np.frombuffer(data[start:], dtype="<i2").astype(np.float32) / 32768.0


def test_wav_decodes_to_its_samples(clip: Path, reference: np.ndarray) -> None:
    samples = decode_audio(clip.read_bytes())
    assert samples.dtype == np.float32
    assert samples.ndim == 1
    np.testing.assert_allclose(samples, reference, atol=1e-6)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_container_decodes_to_the_right_duration(
    fmt: str, clip: Path, reference: np.ndarray
) -> None:
    samples = decode_audio(convert(clip, fmt).read_bytes())
    assert samples.dtype == np.float32
    assert samples.ndim == 1
    assert abs(samples.size - reference.size) / SAMPLE_RATE < 0.03
    assert 0.3 < float(np.abs(samples).max()) <= 1.0
    if fmt == "flac":  # lossless
        np.testing.assert_allclose(samples, reference, atol=1e-6)


def test_stereo_44k_is_downmixed_and_resampled(clip: Path, reference: np.ndarray) -> None:
    stereo = clip.with_name("stereo-44k.wav")
    subprocess.run(["sox", str(clip), "-r", "44100", "-c", "2", str(stereo)], check=True)
    samples = decode_audio(stereo.read_bytes())
    assert samples.ndim == 1
    assert abs(samples.size - reference.size) <= SAMPLE_RATE // 100
    n = min(samples.size, reference.size)
    assert np.corrcoef(samples[:n], reference[:n])[0, 1] > 0.99


def test_a_cut_file_decodes_what_is_there(clip: Path, reference: np.ndarray) -> None:
    data = convert(clip, "mp3").read_bytes()
    samples = decode_audio(data[: len(data) // 2])
    assert 0.3 * reference.size < samples.size < 0.7 * reference.size


def test_raw_pcm() -> None:
    data = struct.pack("<4h", 0, 16384, -32768, 32767)
    samples = pcm16le_to_float(data)
    assert samples.dtype == np.float32
    np.testing.assert_array_equal(samples, [0.0, 0.5, -1.0, 32767 / 32768])


def test_raw_pcm_with_an_odd_byte_count() -> None:
    with pytest.raises(BadRequest, match=r"16-bit samples.*odd number of bytes \(3\)"):
        pcm16le_to_float(b"\x00\x01\x02")


@pytest.mark.parametrize("decode", [decode_audio, pcm16le_to_float])
def test_empty_body(decode: Callable[[bytes], np.ndarray]) -> None:
    with pytest.raises(BadRequest, match="no audio: the request body is empty"):
        decode(b"")


@pytest.mark.parametrize(
    "data",
    [b"this is certainly not audio " * 100, bytes(range(256)) * 40],
    ids=["text", "bytes"],
)
def test_garbage_is_a_bad_request(data: bytes) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_audio(data)
    assert str(caught.value).startswith(
        "could not decode audio: not a WAV, FLAC, MP3, OGG, WebM or M4A file"
    )
    assert caught.value.status == 400


def test_other_formats_ffmpeg_knows_are_refused(clip: Path) -> None:
    aiff = clip.with_name("clip.aiff")
    subprocess.run(["sox", str(clip), str(aiff)], check=True)
    with pytest.raises(BadRequest, match="could not decode audio: not a WAV"):
        decode_audio(aiff.read_bytes())


def test_a_wav_header_without_samples(clip: Path) -> None:
    with pytest.raises(BadRequest, match="could not decode audio"):
        decode_audio(clip.read_bytes()[:44])


def test_too_long_by_declared_duration(clip: Path) -> None:
    with pytest.raises(BadRequest, match=r"^audio is 2\.\d s long; the limit is 1 s$"):
        decode_audio(clip.read_bytes(), max_seconds=1)


def test_too_long_without_declared_duration(clip: Path) -> None:
    # a WebM as a browser records it carries no duration: the limit applies while decoding
    data = convert(clip, "webm").read_bytes()
    with pytest.raises(BadRequest, match=r"^audio is more than 1(\.\d)? s long; the limit is 1 s$"):
        decode_audio(data, max_seconds=1)


def test_raw_pcm_too_long() -> None:
    with pytest.raises(BadRequest, match=r"^audio is 2 s long; the limit is 1 s$"):
        pcm16le_to_float(bytes(4 * SAMPLE_RATE), max_seconds=1)
