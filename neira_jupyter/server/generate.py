"""Generation routes: ``POST api/generate``, ``WS api/generate/ws``, ``DELETE api/requests/{id}``.

A request is validated as ``protocol.GenerateRequest``, turned into the
engine's messages and options (the server's defaults fill what the request
leaves unset; a ``json_schema`` must convert to a grammar before anything
starts), and its events go out as ``start``, ``token``... and ``done`` (or
``error``), as NDJSON, SSE or WebSocket messages. Closing the
connection or the socket cancels the generation.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncGenerator
from dataclasses import replace
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.iostream import StreamClosedError

from ..engine.llm import TokenChunk
from ..engine.llm.grammar import json_grammar
from ..engine.service import GenerationStart, NeiraEngine
from ..engine.types import (
    BadRequest,
    ChatMessage,
    EngineError,
    GenerationOptions,
    ToolCall,
    ToolChoice,
)
from ..protocol import (
    REQUEST_ID_PATTERN,
    CancelMessage,
    ErrorEvent,
    GenerateMessage,
    GenerateRequest,
    ProtocolError,
    TokenEvent,
    WireModel,
    parse_tagged,
)
from ..protocol import ChatMessage as WireMessage
from .base import (
    BoundedBodyMixin,
    NeiraAPIHandler,
    NeiraWebSocketHandler,
    RequestLimits,
    error_event,
)
from .wire import done_event, generate_result, start_event

Events = AsyncGenerator[Any, None]

SOCKET_MESSAGES: dict[str, type[GenerateMessage | CancelMessage]] = {
    "generate": GenerateMessage,
    "cancel": CancelMessage,
}
"""What a client may send on ``WS api/generate/ws``, by ``type``."""


def engine_request(
    request: GenerateRequest, defaults: GenerationOptions, limits: RequestLimits
) -> tuple[tuple[ChatMessage, ...], GenerationOptions]:
    """The engine's messages and options for a validated request, within this server's limits."""
    messages = tuple(engine_message(m) for m in request.chat())
    total = sum(len(m.content) for m in messages)
    if total > limits.max_prompt_chars:
        raise BadRequest(
            f"the prompt is {total} characters long; the limit is {limits.max_prompt_chars}"
        )
    if request.max_tokens is not None and request.max_tokens > limits.max_tokens:
        raise BadRequest(
            f"field 'max_tokens' is {request.max_tokens}; this server allows at most "
            f"{limits.max_tokens}"
        )
    overrides: dict[str, Any] = {
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stop": tuple(request.stop) if request.stop is not None else None,
        "seed": request.seed,
        "json_schema": json.dumps(request.json_schema) if request.json_schema is not None else None,
        "presence_penalty": request.presence_penalty,
        "frequency_penalty": request.frequency_penalty,
        "logit_bias": tuple((int(t), b) for t, b in request.logit_bias.items())
        if request.logit_bias
        else None,
        "tools": tool_choice(request),
    }
    return messages, replace(defaults, **{k: v for k, v in overrides.items() if v is not None})


def engine_message(message: WireMessage) -> ChatMessage:
    """A protocol message as the engine's (a tool call's arguments kept as JSON text)."""
    calls = tuple(
        ToolCall(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or ()
    )
    return ChatMessage(message.role, message.content, calls, message.tool_call_id)


def tool_choice(request: GenerateRequest) -> ToolChoice | None:
    """The engine's ``ToolChoice`` for the request's ``tools`` and ``tool_choice``."""
    use = request.tool_use
    if use is None or request.tools is None:
        return None
    offered = json.dumps([tool.to_dict() for tool in request.tools], ensure_ascii=False)
    return ToolChoice(offered, *use)


async def check_format(request: GenerateRequest) -> None:
    """``BadRequest`` now, before any event, for a ``json_schema`` (or a forced tool's
    ``parameters``) no grammar can follow (converted in a thread: a schema's size is the
    client's; the grammar is cached for the engine)."""
    if request.json_schema is not None:
        await asyncio.to_thread(json_grammar, json.dumps(request.json_schema))
    use = request.tool_use
    forced = use is not None and use[0]  # a forced call follows the parameters by a grammar
    for index, tool in enumerate(request.tools or [] if forced else []):
        if tool.function.parameters is not None:
            field = f"tools[{index}].function.parameters"
            await asyncio.to_thread(json_grammar, json.dumps(tool.function.parameters), field)


def open_generation(
    engine: NeiraEngine,
    user: str,
    request: GenerateRequest,
    limits: RequestLimits,
    logprobs: int | None = None,
    n: int = 1,
) -> Events:
    """Start a generation; its first event is the ``GenerationStart``. The OpenAI routes'
    options: ``logprobs``, each token's log probability and this many alternatives;
    ``n``, how many choices."""
    messages, options = engine_request(request, engine.config.defaults, limits)
    if logprobs is not None or n != 1:
        options = replace(options, logprobs=logprobs, n=n)
    return engine.generate(
        user, messages, options, model=request.model, request_id=request.request_id
    )


async def first_event(events: Events) -> GenerationStart:
    """The ``GenerationStart``: routing, admission and id errors surface here."""
    first = await events.__anext__()
    if not isinstance(first, GenerationStart):
        raise EngineError(f"the engine began a generation with {type(first).__name__}")
    return first


def wire_event(event: Any, request_id: str) -> WireModel:
    """One engine event (after the start) as a protocol event."""
    if isinstance(event, TokenChunk):
        return TokenEvent(text=event.text)
    return done_event(event, request_id)


@web.stream_request_body
class GenerateHandler(BoundedBodyMixin):
    """``POST api/generate``: NDJSON/SSE token stream, or one JSON document."""

    _request_id: str | None = None

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        try:
            request = await self.parse_json_body(GenerateRequest)
            await check_format(request)
            events = open_generation(self.engine, self.username, request, self.limits)
            start = await first_event(events)
        except EngineError as exc:
            self.send_engine_error(exc)
            return
        self._request_id = start.request_id
        try:
            if request.stream:
                await self._stream(start, events)
            else:
                await self.reply_last(events, lambda last: generate_result(last, start.request_id))
        finally:
            await events.aclose()  # cancels the job if the client went away

    def on_connection_close(self) -> None:
        """The client left: stop its generation now, queued or running."""
        if self._request_id is not None:
            self.engine.cancel(self._request_id, self.username)
        super().on_connection_close()

    async def _stream(self, start: GenerationStart, events: Events) -> None:
        sse = "text/event-stream" in self.request.headers.get("Accept", "")
        self.set_header("Content-Type", "text/event-stream" if sse else "application/x-ndjson")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")

        async def send(message: WireModel) -> None:
            line = message.to_json()
            self.write(f"data: {line}\n\n" if sse else line + "\n")
            await self.flush()

        try:
            await send(start_event(start))
            try:
                async for event in events:
                    await send(wire_event(event, start.request_id))
            except StreamClosedError:
                raise
            except EngineError as exc:
                await send(error_event(exc))
            except Exception as exc:  # headers are sent: report in-band, log the details
                self.log.exception("neira: generation failed")
                await send(ErrorEvent(status=500, message=f"generation failed: {exc}"))
            self.finish()
        except StreamClosedError:
            pass  # the client left; the caller's aclose() cancels the job


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
        events: Events | None = None
        try:
            events = open_generation(self.engine, self.username, request, self.limits)
            start = await first_event(events)
            self._request_id = start.request_id
            if self._cancel_requested:
                self._cancel()
            if not self.send(start_event(start)):
                return
            async for event in events:
                if not self.send(wire_event(event, start.request_id)):
                    break
        except EngineError as exc:
            self.send_engine_error(exc)
        finally:
            self._request_id = None
            if events is not None:
                await events.aclose()

    def on_close(self) -> None:
        self._cancel()
        super().on_close()
