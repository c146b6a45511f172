"""Generation routes: ``POST api/generate``, ``WS api/generate/ws``, ``DELETE api/requests/{id}``.

HTTP only: the request is validated as ``protocol.GenerateRequest`` and
served by ``serving.generate`` (engine messages and options, the start, the
events); its events go out as NDJSON or SSE (``write_events``) or as
WebSocket messages. Closing the connection or the socket cancels the
generation.
"""

from __future__ import annotations

import asyncio
import re

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..engine.types import EngineError
from ..protocol import (
    REQUEST_ID_PATTERN,
    CancelMessage,
    ErrorEvent,
    GenerateMessage,
    GenerateRequest,
    ProtocolError,
    parse_tagged,
)
from ..serving.generate import StartedGeneration, check_format, neira_events, open_generation
from ..serving.wire import generate_result
from .base import BoundedBodyMixin, NeiraAPIHandler, NeiraWebSocketHandler
from .event_stream import event_media, write_events

SOCKET_MESSAGES: dict[str, type[GenerateMessage | CancelMessage]] = {
    "generate": GenerateMessage,
    "cancel": CancelMessage,
}
"""What a client may send on ``WS api/generate/ws``, by ``type``."""


@web.stream_request_body
class GenerateHandler(BoundedBodyMixin):
    """``POST api/generate``: NDJSON/SSE token stream, or one JSON document."""

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        try:
            request = await self.parse_json_body(GenerateRequest)
            await check_format(request)
            generation = await open_generation(self.engine, self.username, request, self.limits)
        except EngineError as exc:
            self.send_engine_error(exc)
        await reply_generation(self, generation, request.stream)


async def reply_generation(
    handler: BoundedBodyMixin, generation: StartedGeneration, stream: bool
) -> None:
    """Answer with a started generation: its events as NDJSON or SSE when ``stream``, else
    its result as one JSON document (an engine error is the handler's error answer).
    Closing the connection, or leaving early, cancels the job."""
    handler.cancel_on_close(generation.request_id)
    try:
        if stream:
            await write_events(handler, neira_events(generation), event_media(handler))
            return
        try:
            result = await generation.result()
        except EngineError as exc:
            handler.send_engine_error(exc)
        await handler.reply_built(lambda: generate_result(result, generation.request_id))
    finally:
        await generation.aclose()  # cancels the job if the client went away


class CancelHandler(NeiraAPIHandler):
    """``DELETE api/requests/{id}``: cancel one of the caller's own requests."""

    @web.authenticated
    @authorized("execute")
    async def delete(self, request_id: str) -> None:
        known = re.fullmatch(REQUEST_ID_PATTERN, request_id) is not None
        if not known or not self.engine.cancel(request_id, self.username):
            raise web.HTTPError(404, f"no queued or running request {request_id!r} of yours")
        self.set_status(204)
        self.finish()


class GenerateWebSocket(NeiraWebSocketHandler):
    """``WS api/generate/ws``: ``generate`` messages in, events out, ``cancel`` honoured."""

    _task: asyncio.Future[None] | None = None
    _request_id: str | None = None
    _cancel_requested = False

    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def on_message(self, message: str | bytes) -> None:
        self.touch()
        if len(message) > self.limits.max_body_bytes:
            self.send(ErrorEvent(status=413, message="message too large"))
            return
        try:
            parsed = parse_tagged(message, SOCKET_MESSAGES)
        except ProtocolError as exc:
            self.send(ErrorEvent(status=400, message=str(exc)))
            return
        if isinstance(parsed, CancelMessage):
            self._cancel()
            return
        if self._task is not None and not self._task.done():
            self.send(ErrorEvent(status=409, message="already generating"))
            return
        self._cancel_requested = False
        self._task = asyncio.ensure_future(self._generate(parsed))

    def _cancel(self) -> None:
        self._cancel_requested = True
        if self._request_id is not None:
            self.engine.cancel(self._request_id, self.username)

    async def _generate(self, request: GenerateRequest) -> None:
        try:
            generation = await open_generation(self.engine, self.username, request, self.limits)
        except EngineError as exc:
            self.send_engine_error(exc)
            return
        self._request_id = generation.request_id
        if self._cancel_requested:
            self._cancel()
        events = neira_events(generation)
        try:
            async for event in events:
                if not self.send(event):
                    break
        finally:
            self._request_id = None
            await events.aclose()
            await generation.aclose()

    def on_close(self) -> None:
        self._cancel()
        super().on_close()
