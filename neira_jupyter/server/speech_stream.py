"""``WS api/transcribe/stream``: live microphone PCM in, partial and final transcripts out.

The protocol (docs/api.md has the reference):

* client -> server, text frames, JSON:
  ``{"type": "start", "language": "auto"|"ru"|"en", "correct": true}`` opens a
  stream; ``{"type": "stop"}`` ends it and asks for the final result;
  ``{"type": "cancel"}`` drops it without a result.
* client -> server, binary frames: raw 16 kHz mono signed 16-bit little-endian
  PCM, at most ``MAX_FRAME_BYTES`` each (the browser sends ~100 ms frames).
* server -> client: ``{"type": "started", "sample_rate": 16000, ...}``, then
  ``{"type": "partial", "confirmed": ..., "tentative": ...}`` while audio
  arrives, and after ``stop`` one ``{"type": "final", "raw", "text",
  "correction", ...}``; errors are ``{"type": "error", "status", "message"}``.

After a ``final`` the same socket may ``start`` again. Closing the socket
cancels its stream. Each socket has its own ``StreamingRecognizer``; several
sockets (users, tabs) stream at once and meet in the speech lane's fair queue.

Authentication and authorization are those of ``GenerateWebSocket``:
``@ws_authenticated`` on ``get`` and the authorizer (``execute`` on resource
``neira``) in ``pre_get``, before the upgrade. A browser on the Jupyter page
connects with its cookie, like the kernel WebSockets; other clients pass
``Authorization: token ...``. The total duration of a stream is bounded by
``NeiraApp.max_audio_seconds``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import numpy as np

from ..engine.speech import SAMPLE_RATE, Partial, StreamingRecognizer, StreamOptions
from ..engine.types import BadRequest, EngineError
from .handlers import NeiraWebSocketHandler
from .protocol import parse_flag, parse_language, require_object

MAX_FRAME_BYTES = 64 * 1024
"""Largest binary frame: 2 s of 16 kHz s16le audio."""

MAX_CONTROL_BYTES = 4096
"""Largest text (control) frame."""


class StreamConflict(EngineError):
    """A ``start`` while this socket's stream is still running."""

    status = 409


@dataclass(frozen=True)
class StartMessage:
    """``{"type": "start"}``: open a stream."""

    language: str = "auto"
    correct: bool = True


@dataclass(frozen=True)
class StopMessage:
    """``{"type": "stop"}``: end the stream and send the final result."""


@dataclass(frozen=True)
class CancelMessage:
    """``{"type": "cancel"}``: drop the stream without a result."""


Control = StartMessage | StopMessage | CancelMessage


def parse_control(message: str) -> Control:
    """Validate one JSON control frame. Raises ``BadRequest`` naming the problem."""
    try:
        body = require_object(json.loads(message))
    except ValueError as exc:
        raise BadRequest(f"a text frame must be a JSON object: {exc}") from None
    kind = body.get("type")
    allowed = {"start": {"type", "language", "correct"}, "stop": {"type"}, "cancel": {"type"}}
    if kind not in allowed:
        raise BadRequest("field 'type' must be start, stop or cancel")
    unknown = sorted(set(body) - allowed[kind])
    if unknown:
        raise BadRequest(f"unknown field(s) in {kind}: {', '.join(unknown)}")
    if kind == "start":
        return StartMessage(
            language=parse_language(body.get("language")),
            correct=parse_flag(body.get("correct"), "correct", True),
        )
    return StopMessage() if kind == "stop" else CancelMessage()


class TranscribeStreamWebSocket(NeiraWebSocketHandler):
    """``WS api/transcribe/stream``: one live transcription at a time per socket."""

    _recognizer: StreamingRecognizer | None = None
    _finishing: asyncio.Task[None] | None = None
    _cleanup: set[asyncio.Task[None]]

    async def on_message(self, message: str | bytes) -> None:
        try:
            if isinstance(message, bytes):
                self._audio(message)
            else:
                await self._control(message)
        except EngineError as exc:
            self.send_engine_error(exc)

    def _audio(self, data: bytes) -> None:
        recognizer = self._recognizer
        if recognizer is None or self._finishing is not None:
            raise BadRequest('send {"type": "start"} before audio frames')
        if len(data) > MAX_FRAME_BYTES:
            raise BadRequest(
                f"an audio frame is {len(data)} bytes; the limit is {MAX_FRAME_BYTES} bytes"
            )
        if len(data) % 2:
            raise BadRequest("audio frames must hold whole 16-bit samples (an even byte count)")
        if not data:
            return
        try:
            recognizer.feed(np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0)
        except EngineError:
            self._drop()
            raise

    async def _control(self, message: str) -> None:
        if len(message) > MAX_CONTROL_BYTES:
            raise BadRequest(f"a control frame is limited to {MAX_CONTROL_BYTES} bytes")
        control = parse_control(message)
        if isinstance(control, StartMessage):
            if self._recognizer is not None:
                raise StreamConflict("a stream is already running on this socket; stop it first")
            engine = self.engine
            if engine.speech is None:
                raise EngineError("no speech model is configured")
            options = StreamOptions(
                language=control.language,
                correct=control.correct,
                max_seconds=self.limits.max_audio_seconds,
            )
            self._recognizer = StreamingRecognizer(
                engine, self.username, options, on_partial=self._on_partial
            )
            self.send(
                {
                    "type": "started",
                    "sample_rate": SAMPLE_RATE,
                    "max_seconds": options.max_seconds,
                    "max_frame_bytes": MAX_FRAME_BYTES,
                    "model": engine.speech.name,
                }
            )
        elif isinstance(control, StopMessage):
            if self._recognizer is None or self._finishing is not None:
                raise BadRequest("there is no running stream to stop")
            self._finishing = asyncio.ensure_future(self._finish(self._recognizer))
        else:
            self._drop()

    def _on_partial(self, partial: Partial) -> None:
        self.send(partial.to_dict())

    async def _finish(self, recognizer: StreamingRecognizer) -> None:
        try:
            result = await recognizer.finish()
        except EngineError as exc:
            self.send_engine_error(exc)
        else:
            self.send(result.to_dict())
        finally:
            if self._recognizer is recognizer:
                self._recognizer = None
                self._finishing = None

    def _drop(self) -> None:
        """Cancel the running stream, if any, without a result."""
        recognizer, self._recognizer = self._recognizer, None
        finishing, self._finishing = self._finishing, None
        if finishing is not None:
            finishing.cancel()
        if recognizer is not None:
            if not hasattr(self, "_cleanup"):
                self._cleanup = set()
            task = asyncio.ensure_future(recognizer.cancel())
            self._cleanup.add(task)  # keep a reference until it is done
            task.add_done_callback(self._cleanup.discard)

    def on_close(self) -> None:
        self._drop()
