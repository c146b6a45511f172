"""Speech routes: ``POST api/transcribe``, ``POST api/correct`` and ``WS api/transcribe/stream``.

The live stream (docs/api.md has the reference): text frames carry JSON
control messages (``start``, ``stop``, ``cancel``; ``protocol.StreamControl``),
binary frames raw 16 kHz mono s16le PCM of at most ``MAX_FRAME_BYTES``; the
server answers ``started``, ``partial``... and after ``stop`` one ``final``
(or ``error``). After a ``final`` the same socket may ``start`` again;
closing it cancels the stream. Each socket has its own
``StreamingRecognizer``; several sockets meet in the speech lane's fair
queue. The total duration is bounded by ``NeiraApp.max_audio_seconds``.
"""

from __future__ import annotations

import asyncio

import numpy as np
from jupyter_server.auth.decorator import authorized
from tornado import httputil, web

from ..engine.speech import SAMPLE_RATE, Partial, StreamingRecognizer, StreamOptions
from ..engine.types import BadRequest, EngineError
from ..protocol import (
    MAX_CONTROL_BYTES,
    MAX_FRAME_BYTES,
    CorrectRequest,
    ProtocolError,
    StartedMessage,
    StreamCancel,
    StreamStart,
    StreamStop,
    TranscribeOptions,
    parse_tagged,
)
from ..serving.speech import correct_text, hear
from ..serving.wire import correct_result, final_message, partial_message, transcribe_result
from .base import BoundedBodyMixin, NeiraWebSocketHandler, parse_body

CONTROLS: dict[str, type[StreamStart | StreamStop | StreamCancel]] = {
    "start": StreamStart,
    "stop": StreamStop,
    "cancel": StreamCancel,
}
"""The control messages of the live stream, by ``type``."""


class StreamConflict(EngineError):
    """A ``start`` while this socket's stream is still running."""

    status = 409


def media_type(handler: web.RequestHandler) -> str:
    """The request's Content-Type without parameters, lower case."""
    return handler.request.headers.get("Content-Type", "").split(";")[0].strip().lower()


def audio_upload(
    handler: web.RequestHandler, body: bytes, file_field: str
) -> tuple[bytes, dict[str, str]]:
    """The audio and the fields of an upload: a multipart ``file_field`` and its form
    fields, or the whole body; the query's fields either way (run it in a thread: the
    body can be as large as ``max_audio_bytes``)."""
    fields = {k: handler.get_query_argument(k) for k in handler.request.query_arguments}
    if media_type(handler) == "multipart/form-data":
        args: dict[str, list[bytes]] = {}
        files: dict[str, list[httputil.HTTPFile]] = {}
        content_type = handler.request.headers.get("Content-Type", "")
        try:
            httputil.parse_body_arguments(content_type, body, args, files)
        except httputil.HTTPInputError as exc:
            raise BadRequest(f"the multipart upload is malformed: {exc}") from None
        for key, values in args.items():
            fields[key] = values[0].decode("utf-8", "replace")
        uploads = files.get(file_field)
        if not uploads:
            raise BadRequest(f"multipart upload has no file field named {file_field!r}")
        data = uploads[0]["body"]
    else:
        data = body
    if not data:
        raise BadRequest(f"no audio received; upload a file as field {file_field!r} or as the body")
    return data, fields


@web.stream_request_body
class TranscribeHandler(BoundedBodyMixin):
    """``POST api/transcribe``: audio upload -> raw text, corrected text, segments, timings."""

    body_limit_name = "max_audio_bytes"

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        await self.until_disconnect(self._transcribe())

    async def _transcribe(self) -> None:
        try:
            audio, fields = await asyncio.to_thread(audio_upload, self, bytes(self._body), "audio")
            options = parse_body(TranscribeOptions, fields)
            pcm = media_type(self) == "audio/l16"
            heard = await hear(self.engine, self.username, audio, options, self.limits, pcm)
        except EngineError as exc:
            self.send_engine_error(exc)
        await self.reply_built(lambda: transcribe_result(*heard))


@web.stream_request_body
class CorrectHandler(BoundedBodyMixin):
    """``POST api/correct``: text in, corrected text out (degraded flag and reason)."""

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        await self.until_disconnect(self._correct())

    async def _correct(self) -> None:
        try:
            request = await self.parse_json_body(CorrectRequest)
            correction = await correct_text(self.engine, self.username, request, self.limits)
        except EngineError as exc:
            self.send_engine_error(exc)
        await self.reply_built(lambda: correct_result(correction))


class TranscribeStreamWebSocket(NeiraWebSocketHandler):
    """``WS api/transcribe/stream``: one live transcription at a time per socket."""

    _recognizer: StreamingRecognizer | None = None
    _finishing: asyncio.Task[None] | None = None
    _cleanup: set[asyncio.Task[None]]

    async def on_message(self, message: str | bytes) -> None:
        self.touch()
        try:
            if isinstance(message, bytes):
                self._audio(message)
            else:
                self._control(message)
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

    def _control(self, message: str) -> None:
        if len(message) > MAX_CONTROL_BYTES:
            raise BadRequest(f"a control frame is limited to {MAX_CONTROL_BYTES} bytes")
        control = parse_stream_control(message)
        if isinstance(control, StreamStart):
            self._start(control)
        elif isinstance(control, StreamStop):
            if self._recognizer is None or self._finishing is not None:
                raise BadRequest("there is no running stream to stop")
            self._finishing = asyncio.ensure_future(self._finish(self._recognizer))
        else:
            self._drop()

    def _start(self, control: StreamStart) -> None:
        if self._recognizer is not None:
            raise StreamConflict("a stream is already running on this socket; stop it first")
        engine = self.engine
        model = engine.live_model()  # NoModelAvailable (503) when no model may serve
        options = StreamOptions(
            language=control.language,
            correct=control.correct,
            max_seconds=self.limits.max_audio_seconds,
        )
        self._recognizer = StreamingRecognizer(
            engine, self.username, options, on_partial=self._on_partial
        )
        self.send(
            StartedMessage(
                sample_rate=SAMPLE_RATE,
                max_seconds=options.max_seconds,
                max_frame_bytes=MAX_FRAME_BYTES,
                model=model,
            )
        )

    def _on_partial(self, partial: Partial) -> None:
        self.send(partial_message(partial))

    async def _finish(self, recognizer: StreamingRecognizer) -> None:
        try:
            result = await recognizer.finish()
        except EngineError as exc:
            self.send_engine_error(exc)
        else:
            self.send(final_message(result))
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

    def busy(self) -> bool:
        return self._recognizer is not None

    def on_close(self) -> None:
        self._drop()
        super().on_close()


def parse_stream_control(message: str) -> StreamStart | StreamStop | StreamCancel:
    """One JSON control frame; ``BadRequest`` names the problem."""
    try:
        return parse_tagged(message, CONTROLS)
    except ProtocolError as exc:
        raise BadRequest(str(exc)) from None
