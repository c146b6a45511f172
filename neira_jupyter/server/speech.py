"""Speech routes: ``POST api/transcribe``, ``POST api/correct`` and ``WS api/transcribe/stream``.

The live stream (docs/api.md has the reference): text frames carry JSON
control messages (``start``, ``stop``, ``cancel``; ``protocol.StreamControl``),
binary frames raw 16 kHz mono s16le PCM of at most ``MAX_FRAME_BYTES``; the
server answers ``started``, ``partial``... and after ``stop`` one ``final``
(or ``error``). After a ``final`` the same socket may ``start`` again;
closing it cancels the stream. The socket only moves frames: each has its
own ``LiveSession`` (``serving.speech_session``), which holds the stream's
states; several sockets meet in the speech lane's fair queue. The total
duration is bounded by ``NeiraApp.max_audio_seconds``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import httputil, web

from ..engine.types import BadRequest, EngineError
from ..protocol import CorrectRequest, TranscribeOptions
from ..serving.errors import in_band_errors
from ..serving.speech import (
    check_text,
    correct_events,
    correct_text,
    hear,
    transcribe_events,
)
from ..serving.speech_session import LiveSession
from ..serving.wire import correct_result, transcribe_result
from .base import BoundedBodyMixin, NeiraWebSocketHandler, parse_body
from .event_stream import event_media, write_events


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
    """``POST api/transcribe``: audio upload -> raw text, corrected text, segments, timings;
    with ``stream``, what was heard, each sentence's correction as an event, then ``done``."""

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
        if options.stream:
            events = transcribe_events(self.engine, self.username, heard, options)
            await write_events(self, in_band_errors(events, "correction"), event_media(self))
            return
        await self.reply_built(lambda: transcribe_result(*heard))


@web.stream_request_body
class CorrectHandler(BoundedBodyMixin):
    """``POST api/correct``: text in, corrected text out (degraded flag and reason); with
    ``stream``, each sentence's correction as an event, then ``done``."""

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        await self.until_disconnect(self._correct())

    async def _correct(self) -> None:
        try:
            request = await self.parse_json_body(CorrectRequest)
            if request.stream:
                check_text(request, self.limits)
                events = correct_events(self.engine, self.username, request)
                await write_events(self, in_band_errors(events, "correction"), event_media(self))
                return
            correction = await correct_text(self.engine, self.username, request, self.limits)
        except EngineError as exc:
            self.send_engine_error(exc)
        await self.reply_built(lambda: correct_result(correction))


class TranscribeStreamWebSocket(NeiraWebSocketHandler):
    """``WS api/transcribe/stream``: the socket of one ``LiveSession`` (``serving``)."""

    _session: LiveSession | None = None

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)
        self._session = LiveSession(
            self.engine, self.username, self.limits, self.send, self.send_engine_error
        )

    async def on_message(self, message: str | bytes) -> None:
        self.touch()
        session = self._session
        if session is None:  # a message before open: the upgrade did not complete
            return
        try:
            if isinstance(message, bytes):
                session.audio(message)
            else:
                session.control(message)
        except EngineError as exc:
            self.send_engine_error(exc)

    def busy(self) -> bool:
        return self._session is not None and self._session.busy

    def on_close(self) -> None:
        if self._session is not None:
            self._session.close()
        super().on_close()
