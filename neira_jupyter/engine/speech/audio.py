"""Audio decoding: the bytes a client sends -> float32 mono 16 kHz samples for Whisper.

``decode_audio`` reads a container (WAV, FLAC, MP3, OGG/Opus, WebM, M4A) with
PyAV, downmixes and resamples with ``av.audio.resampler.AudioResampler``, and
stops at a length limit. ``pcm16le_to_float`` handles raw 16 kHz mono s16le
PCM, which is what the browser's recording widget streams.

Only the demuxers of those formats are allowed (FFmpeg's ``format_whitelist``):
FFmpeg can probe hundreds of formats, some of which (HLS playlists, concat
lists) open further URLs or files named inside the data, so untrusted bytes
never reach them. M4A (the ``mov`` demuxer) is allowed because phones and
Safari record it. A packet that fails to decode (a truncated last frame) is
skipped; a body with no decodable sample is a ``BadRequest``.

Untrusted bytes are bounded before they cost memory: only the codecs of those
formats decode (``_CODECS``), a stream's sample rate and channel count must be
plausible, and every decoded frame's duration is added up from its header
(``frame.samples / frame.sample_rate``) and checked against ``max_seconds``
*before* the frame is resampled or kept, so a small file that claims to be
short but decodes to hours of audio stops at the limit.

Every error a user can cause is a ``BadRequest`` whose message says what was
wrong in words a notebook user understands.
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np

from ..types import BadRequest, EngineError

__all__ = ["SAMPLE_RATE", "decode_audio", "pcm16le_to_float"]

SAMPLE_RATE = 16000
"""Samples per second of every array this module returns (what Whisper expects)."""

_DEMUXERS = "wav,flac,mp3,ogg,matroska,webm,mov"
# the decoders of those formats' audio; anything else in a container is refused
_CODECS = frozenset(
    {"flac", "mp3", "mp3float", "opus", "libopus", "vorbis", "libvorbis", "aac", "alac"}
)
_PCM_CODEC = re.compile(r"^pcm_(s|u|f)(8|16|24|32|64)(le|be)?(_planar)?$|^pcm_(alaw|mulaw)$")
MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 192_000
MAX_CHANNELS = 8
_NOT_AUDIO = "not a WAV, FLAC, MP3, OGG, WebM or M4A file"


def _import_av() -> Any:
    try:
        import av
        import av.audio.resampler
    except ImportError as exc:  # pragma: no cover - av is a core dependency
        raise EngineError("PyAV is not installed; install it with: pip install av") from exc
    return av


def _seconds(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _check_length(seconds: float, max_seconds: float, *, at_least: bool = False) -> None:
    if seconds > max_seconds:
        more = "more than " if at_least else ""
        raise BadRequest(
            f"audio is {more}{_seconds(seconds)} s long; the limit is {_seconds(max_seconds)} s"
        )


def _check_not_empty(data: bytes) -> None:
    if not data:
        raise BadRequest("no audio: the request body is empty")


def decode_audio(data: bytes, *, max_seconds: float = 600.0) -> np.ndarray:
    """Decode a WAV, FLAC, MP3, OGG, WebM or M4A file to float32 mono samples at 16 kHz.

    Raises ``BadRequest`` for an empty body, bytes that are not one of those
    formats, a file without audio, or audio longer than ``max_seconds``.
    """
    _check_not_empty(data)
    av = _import_av()
    try:
        with av.open(
            io.BytesIO(data),
            mode="r",
            options={"format_whitelist": _DEMUXERS},
            metadata_errors="ignore",
        ) as container:
            if not container.streams.audio:
                raise BadRequest("could not decode audio: the file has no audio track")
            _check_stream(container.streams.audio[0])
            if container.duration is not None:  # declared length, in microseconds
                _check_length(container.duration / 1_000_000, max_seconds)
            samples = _decode_stream(av, container, max_seconds)
    except av.error.FFmpegError as exc:
        raise BadRequest(f"could not decode audio: {_NOT_AUDIO} ({exc.strerror})") from exc
    if samples.size == 0:
        raise BadRequest("could not decode audio: the file holds no audio samples")
    return samples


def _check_stream(stream: Any) -> None:
    """Refuse codecs outside the whitelist and implausible rates or channel counts."""
    codec = stream.codec_context.name
    if codec not in _CODECS and not _PCM_CODEC.match(codec):
        raise BadRequest(f"could not decode audio: the codec {codec!r} is not supported")
    _check_format(stream.codec_context.sample_rate, stream.codec_context.channels)


def _check_format(rate: int, channels: int) -> None:
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise BadRequest(
            f"audio sample rate is {rate} Hz; it must be between "
            f"{MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz"
        )
    if not 1 <= channels <= MAX_CHANNELS:
        raise BadRequest(f"audio has {channels} channels; at most {MAX_CHANNELS} are allowed")


def _decode_stream(av: Any, container: Any, max_seconds: float) -> np.ndarray:
    """Decode the first audio stream, resampled, stopping once past ``max_seconds``.

    A frame's length is known from its header before its samples are converted,
    so the limit holds however far the decoded audio outgrows the upload.
    """
    stream = container.streams.audio[0]
    resampler = av.audio.resampler.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    seconds = 0.0

    def add(frame: Any) -> None:
        chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))

    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:  # one damaged packet (often a cut last frame)
            continue
        for frame in frames:
            _check_format(frame.sample_rate, len(frame.layout.channels))
            seconds += frame.samples / frame.sample_rate
            _check_length(seconds, max_seconds, at_least=True)
            add(frame)
    add(None)  # flush what the resampler holds back
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def pcm16le_to_float(data: bytes, *, max_seconds: float = 600.0) -> np.ndarray:
    """Convert raw 16 kHz mono signed 16-bit little-endian PCM to float32 samples in [-1, 1)."""
    _check_not_empty(data)
    if len(data) % 2:
        raise BadRequest(
            f"raw PCM must be 16-bit samples, but the body has an odd number of bytes ({len(data)})"
        )
    _check_length(len(data) / 2 / SAMPLE_RATE, max_seconds)
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
