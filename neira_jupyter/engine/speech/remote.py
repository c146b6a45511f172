"""``RemoteTranscriber``: whole-file transcription by an OpenAI-compatible server.

The speech counterpart of ``llm.RemoteModel``, for scale-out: another neira
server (its ``neira/v1``), faster-whisper-server/speaches, a vLLM Whisper, or
OpenAI itself. One call is one ``POST {base_url}/audio/transcriptions``
(multipart: ``file``, ``model``, ``language`` when not ``auto``,
``chunking_strategy=auto`` for ``vad``, ``response_format=verbose_json``);
a server that refuses ``verbose_json`` is asked once more for ``json`` (text
only: one segment over the whole clip). The audio travels as a 16 kHz mono
16-bit WAV made from the decoded samples, so whatever format the user sent,
the remote gets one it surely reads.

``transcribe`` blocks: the engine runs it on a lane of its own
(``speech_remote_concurrency`` threads), so the event loop never waits on
it and the scheduler's per-user fairness and bounded queue apply. Reads
are bounded: the answer may be at most ``MAX_ANSWER_BYTES``, and a pause
longer than ``timeout_s`` ends the request. Every failure is a
``RemoteSpeechError`` (HTTP 502 to our caller) that names the server (its
URL without credentials) and what it said; the API key is sent as a Bearer
token and never logged, shown in status, or put in a repr.

The engine uses it only when ``allow_external_api`` is on -- audio then
leaves this process -- for overflow (``speech_remote_overflow_queue``) or
when no local speech model can serve.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import wave
from typing import Any

import httpx
import numpy as np

from ..endpoint import RemoteEndpoint, RemoteSpec
from ..types import EngineError
from .audio import SAMPLE_RATE
from .whisper import Segment, Transcript

__all__ = ["MAX_ANSWER_BYTES", "RemoteSpeechError", "RemoteSpeechSpec", "RemoteTranscriber"]

MAX_ANSWER_BYTES = 8 << 20
"""The largest transcription answer read (8 MiB: hours of segments)."""

_LANGUAGE_NAMES = {"english": "en", "russian": "ru"}
"""OpenAI's verbose_json names the language in words; neira's own servers send codes."""


class RemoteSpeechError(EngineError):
    """The remote transcription server failed, refused, or answered something unreadable."""

    status = 502


RemoteSpeechSpec = RemoteSpec
"""Where the transcription server is (``endpoint.RemoteSpec``)."""


def wav_bytes(audio: np.ndarray) -> bytes:
    """16 kHz mono float32 samples as a 16-bit PCM WAV file."""
    samples = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes((samples * 32767.0).astype("<i2").tobytes())
    return out.getvalue()


class RemoteTranscriber(RemoteEndpoint):
    """A speech model behind an OpenAI-compatible ``audio/transcriptions`` route."""

    kind = "speech"

    def transcribe(
        self, audio: np.ndarray, language: str = "auto", vad: bool = False
    ) -> Transcript:
        """Transcribe 16 kHz mono float32 samples remotely. Raises ``RemoteSpeechError``."""
        duration = float(np.asarray(audio).size) / SAMPLE_RATE
        started = time.perf_counter()
        data = wav_bytes(audio)
        try:
            answer = self._post(data, language, vad, "verbose_json")
        except _FormatRefused:
            answer = self._post(data, language, vad, "json")
        except RemoteSpeechError as exc:
            self.error = str(exc)
            raise
        transcript = self._transcript(answer, language, duration)
        transcript.timings["transcribe_ms"] = (time.perf_counter() - started) * 1000
        self.error = None
        return transcript

    def _post(self, data: bytes, language: str, vad: bool, response_format: str) -> Any:
        """One request; the parsed JSON answer."""
        form = {"model": self.spec.model, "response_format": response_format}
        if language != "auto":
            form["language"] = language
        if vad:
            form["chunking_strategy"] = "auto"
        headers = {"Accept": "application/json"}
        if self.spec.api_key:
            headers["Authorization"] = f"Bearer {self.spec.api_key}"
        url = self.spec.base_url.rstrip("/") + "/audio/transcriptions"
        files = {"file": ("audio.wav", data, "audio/wav")}
        where = self.spec.public_url
        try:
            with (
                httpx.Client(timeout=self.spec.timeout_s) as client,
                client.stream("POST", url, data=form, files=files, headers=headers) as response,
            ):
                raw = _read_bounded(response)
                status = response.status_code
                reason = response.reason_phrase
        except httpx.HTTPError as exc:
            raise RemoteSpeechError(self.transport_failure(exc, "remote speech API")) from exc
        if status >= 400:
            detail = _error_detail(raw) or reason
            if status == 400 and response_format != "json" and "response_format" in detail:
                raise _FormatRefused(detail)
            what = {401: "rejected the API key", 403: "refused access", 404: "has no such model"}
            raise RemoteSpeechError(
                f"remote speech API {where} {what.get(status, 'answered an error')} "
                f"(HTTP {status}): {detail[:300]}"
            )
        try:
            return json.loads(raw)
        except ValueError:
            raise RemoteSpeechError(
                f"remote speech API {where} answered something that is not JSON: {raw[:80]!r}"
            ) from None

    def _transcript(self, answer: Any, language: str, duration: float) -> Transcript:
        """The ``Transcript`` of a ``json`` or ``verbose_json`` answer."""
        if not isinstance(answer, dict) or not isinstance(answer.get("text"), str):
            raise RemoteSpeechError(
                f"remote speech API {self.spec.public_url} answered without a 'text' field"
            )
        text = answer["text"].strip()
        segments: list[Segment] = []
        for item in answer.get("segments") or []:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                start, end, said = float(item["start"]), float(item["end"]), str(item["text"])
                segments.append(Segment(start, end, said.strip()))
        length = float(answer.get("duration") or duration)
        if not segments and text:
            segments = [Segment(0.0, length, text)]
        said = str(answer.get("language") or "").strip().lower()
        code = _LANGUAGE_NAMES.get(said, said) or ("" if language == "auto" else language)
        return Transcript(
            text=text,
            segments=segments,
            language=code,
            language_probability=1.0 if code else 0.0,
            duration=length,
            model=self.name,
            route="remote",
        )


class _FormatRefused(RemoteSpeechError):
    """The server does not answer ``verbose_json``: ask for ``json``."""


def _read_bounded(response: httpx.Response) -> bytes:
    raw = b""
    for piece in response.iter_bytes():
        raw += piece
        if len(raw) > MAX_ANSWER_BYTES:
            raise RemoteSpeechError(
                f"remote speech API answered more than {MAX_ANSWER_BYTES} bytes"
            )
    return raw


def _error_detail(raw: bytes) -> str:
    """The server's own error message (OpenAI's ``{"error": {"message"}}`` or neira's)."""
    detail = raw[:4096].decode("utf-8", "replace").strip()
    with contextlib.suppress(ValueError, AttributeError, TypeError, KeyError):
        body = json.loads(detail)
        error = body.get("error", body)
        detail = str(error.get("message") if isinstance(error, dict) else error)
    return detail
