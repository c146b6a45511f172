"""HTTP and WebSocket handlers under ``{base_url}neira/api/`` (see docs/api.md).

Every handler is behind jupyter-server authentication (``@web.authenticated``
or ``@ws_authenticated``) and the authorizer (``@authorized`` with
``auth_resource = "neira"``; WebSockets authorize in ``pre_get``). Bodies are
read through ``BoundedBodyMixin``: the size is checked from Content-Length
before anything is read, and again while chunks arrive, so an oversized
upload is refused with 413 instead of being buffered.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from tornado import httputil, web, websocket
from tornado.iostream import StreamClosedError

from ..engine.service import GenerationStart, NeiraEngine
from ..engine.speech import decode_audio, pcm16le_to_float
from ..engine.types import BadRequest, EngineError, QueueFull
from .protocol import (
    dumps,
    event_to_dict,
    parse_correct,
    parse_flag,
    parse_generate,
    parse_language,
)

ENGINE_KEY = "neira_engine"
LIMITS_KEY = "neira_limits"
ISOLATE_KEY = "neira_isolate_users"
SHARED_OWNER = "owner"
AUTH_RESOURCE = "neira"


@dataclass(frozen=True)
class RequestLimits:
    """Size limits of incoming requests."""

    max_body_bytes: int = 1024 * 1024
    max_audio_bytes: int = 50 * 1024 * 1024
    max_audio_seconds: float = 600.0
    max_prompt_chars: int = 100_000


def http_error(exc: EngineError) -> web.HTTPError:
    """The HTTP error for an engine error (its message is shown to the user)."""
    error = web.HTTPError(exc.status, str(exc), reason=type(exc).__name__)
    if isinstance(exc, QueueFull):
        error.retry_after = exc.retry_after  # type: ignore[attr-defined]
    return error


class NeiraMixin:
    """Access to the engine and limits shared by every handler."""

    settings: dict[str, Any]
    current_user: Any

    @property
    def engine(self) -> NeiraEngine:
        engine: NeiraEngine = self.settings[ENGINE_KEY]
        engine.start()  # idempotent; the server's start hook may not have run yet
        return engine

    @property
    def limits(self) -> RequestLimits:
        limits: RequestLimits = self.settings[LIMITS_KEY]
        return limits

    @property
    def username(self) -> str:
        """Whose request this is, for fairness and for who may cancel it.

        A single-user server authenticates browsers and kernels with its token,
        which jupyter_server maps to a fresh anonymous user per request; all of
        them are the server's owner. With ``NeiraApp.isolate_users`` (JupyterHub,
        collaboration: stable identities) each user is kept apart.
        """
        if not self.settings.get(ISOLATE_KEY, False):
            return SHARED_OWNER
        return str(self.current_user.username)


class NeiraAPIHandler(NeiraMixin, APIHandler):
    """Base REST handler: JSON errors, auth resource, engine errors mapped to statuses."""

    auth_resource = AUTH_RESOURCE

    def send_engine_error(self, exc: EngineError) -> None:
        raise http_error(exc) from exc

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        retry_after = getattr(exc_info[1], "retry_after", None) if exc_info else None
        if retry_after is not None:  # send_error() cleared the headers: set it here
            self.set_header("Retry-After", str(retry_after))
        super().write_error(status_code, **kwargs)


class BoundedBodyMixin(NeiraAPIHandler):
    """Streams the request body in with a size limit (413 when exceeded)."""

    body_limit_name = "max_body_bytes"
    _body: bytearray

    @property
    def body_limit(self) -> int:
        limit: int = getattr(self.limits, self.body_limit_name)
        return limit

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()  # authentication and XSRF happen here, before any body
        self._body = bytearray()
        length = self.request.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > self.body_limit:
            raise web.HTTPError(
                413, f"request body is {int(length)} bytes; the limit is {self.body_limit} bytes"
            )

    def data_received(self, chunk: bytes) -> None:
        self._body.extend(chunk)
        if len(self._body) > self.body_limit:
            raise web.HTTPError(413, f"request body exceeds the limit of {self.body_limit} bytes")

    def json_body(self) -> Any:
        if not self._body:
            raise BadRequest("the request body is empty; send a JSON object")
        try:
            return json.loads(self._body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"the request body is not valid JSON: {exc}") from exc


class StatusHandler(NeiraAPIHandler):
    """``GET api/status``: models, route, queue, version."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(dumps(self.engine.status()))


@web.stream_request_body
class GenerateHandler(BoundedBodyMixin):
    """``POST api/generate``: NDJSON/SSE token stream, or one JSON document."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        engine = self.engine
        try:
            request = parse_generate(
                self.json_body(), engine.config.defaults, self.limits.max_prompt_chars
            )
            events = engine.generate(
                self.username,
                request.messages,
                request.options,
                model=request.model,
                request_id=request.request_id,
            )
            first = await events.__anext__()  # routing and admission errors surface here
            if isinstance(first, GenerationStart):
                self._request_id = first.request_id
        except EngineError as exc:
            self.send_engine_error(exc)
            return
        except ValueError as exc:  # duplicate request_id
            raise web.HTTPError(409, str(exc)) from exc
        try:
            if request.stream:
                await self._stream(first, events)
            else:
                await self._whole(events)
        finally:
            await events.aclose()  # cancels the job if the client went away

    _request_id: str | None = None

    def on_connection_close(self) -> None:
        """The client left: stop its generation now, queued or running."""
        if self._request_id is not None:
            self.engine.cancel(self._request_id, self.username)
        super().on_connection_close()

    async def _whole(self, events: AsyncIterator[Any]) -> None:
        last: Any = None
        try:
            async for event in events:
                last = event
        except EngineError as exc:
            self.send_engine_error(exc)
        document = event_to_dict(last)
        document.pop("type")
        self.finish(dumps(document))

    async def _stream(self, first: Any, events: AsyncIterator[Any]) -> None:
        sse = "text/event-stream" in self.request.headers.get("Accept", "")
        self.set_header("Content-Type", "text/event-stream" if sse else "application/x-ndjson")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")

        async def send(document: dict[str, Any]) -> None:
            line = dumps(document)
            self.write(f"data: {line}\n\n" if sse else line + "\n")
            await self.flush()

        try:
            await send(event_to_dict(first))
            try:
                async for event in events:
                    await send(event_to_dict(event))
            except StreamClosedError:
                raise
            except EngineError as exc:
                await send({"type": "error", "status": exc.status, "message": str(exc)})
            except Exception as exc:  # headers are sent: report in-band, log the details
                self.log.exception("neira: generation failed")
                await send({"type": "error", "status": 500, "message": f"generation failed: {exc}"})
            self.finish()
        except StreamClosedError:
            pass  # the client left; the caller's aclose() cancels the job


class CancelHandler(NeiraAPIHandler):
    """``DELETE api/requests/{id}``: cancel one of the caller's own requests."""

    @web.authenticated
    @authorized
    async def delete(self, request_id: str) -> None:
        if not self.engine.cancel(request_id, self.username):
            raise web.HTTPError(404, f"no queued or running request {request_id!r} of yours")
        self.set_status(204)
        self.finish()


@web.stream_request_body
class TranscribeHandler(BoundedBodyMixin):
    """``POST api/transcribe``: audio upload -> raw text, corrected text, segments, timings."""

    body_limit_name = "max_audio_bytes"

    @web.authenticated
    @authorized
    async def post(self) -> None:
        engine = self.engine
        try:
            audio_bytes, fields = self._audio_and_fields()
            language = parse_language(fields.get("language"))
            correct = parse_flag(fields.get("correct"), "correct", True)
            vad = parse_flag(fields.get("vad"), "vad", False)
            pcm = fields.get("format") == "pcm_s16le" or self._content_type() == "audio/l16"
            decode = pcm16le_to_float if pcm else decode_audio
            started = time.perf_counter()
            # decoding is CPU work: keep it off the event loop
            audio = await asyncio.to_thread(
                decode, audio_bytes, max_seconds=self.limits.max_audio_seconds
            )
            decode_ms = (time.perf_counter() - started) * 1000
            transcript = await engine.transcribe(self.username, audio, language, vad)
            document = {**transcript.to_dict(), "raw": transcript.text, "correction": None}
            document["timings"]["decode_ms"] = decode_ms
            if correct:
                correction = await engine.correct(
                    self.username, transcript.text, transcript.language or language
                )
                document["text"] = correction.corrected
                document["correction"] = correction.to_dict()
                document["timings"]["correct_ms"] = correction.timings.get("total_ms")
        except EngineError as exc:
            self.send_engine_error(exc)
            return
        document["timings"]["total_ms"] = (time.perf_counter() - started) * 1000
        self.finish(dumps(document))

    def _content_type(self) -> str:
        return self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()

    def _audio_and_fields(self) -> tuple[bytes, dict[str, str]]:
        fields = {k: self.get_query_argument(k) for k in self.request.query_arguments}
        content_type = self.request.headers.get("Content-Type", "")
        if self._content_type() == "multipart/form-data":
            args: dict[str, list[bytes]] = {}
            files: dict[str, list[httputil.HTTPFile]] = {}
            httputil.parse_body_arguments(content_type, bytes(self._body), args, files)
            for key, values in args.items():
                fields[key] = values[0].decode("utf-8", "replace")
            uploads = files.get("audio")
            if not uploads:
                raise BadRequest("multipart upload has no file field named 'audio'")
            data = uploads[0]["body"]
        else:
            data = bytes(self._body)
        if not data:
            raise BadRequest("no audio received; upload a file as field 'audio' or as the body")
        return data, fields


@web.stream_request_body
class CorrectHandler(BoundedBodyMixin):
    """``POST api/correct``: text in, corrected text out (degraded flag and reason)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        try:
            text, language = parse_correct(self.json_body(), self.limits.max_prompt_chars)
            correction = await self.engine.correct(self.username, text, language)
        except EngineError as exc:
            self.send_engine_error(exc)
            return
        self.finish(dumps(correction.to_dict()))


class NeiraWebSocketHandler(NeiraMixin, JupyterHandler, websocket.WebSocketHandler):
    """Base WebSocket: authenticated and authorized before the upgrade, JSON messages out."""

    auth_resource = AUTH_RESOURCE

    async def prepare(self, *, _redirect_to_login: bool = False) -> None:
        # An API socket answers 403, never a redirect to the login page.
        await super().prepare(_redirect_to_login=False)

    async def pre_get(self) -> None:
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "execute", AUTH_RESOURCE)
        )
        if not allowed:
            raise web.HTTPError(403)

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        await self.pre_get()
        result = super().get(*args, **kwargs)
        if result is not None:
            await result

    def send(self, document: dict[str, Any]) -> bool:
        """Send one JSON message; False when the socket is already closed."""
        try:
            self.write_message(dumps(document))
        except websocket.WebSocketClosedError:
            return False
        return True

    def send_engine_error(self, exc: EngineError) -> None:
        document: dict[str, Any] = {"type": "error", "status": exc.status, "message": str(exc)}
        if isinstance(exc, QueueFull):
            document["retry_after"] = exc.retry_after
        self.send(document)


class GenerateWebSocket(NeiraWebSocketHandler):
    """``WS api/generate/ws``: generate messages in, token events out, ``cancel`` honoured."""

    _task: asyncio.Future[None] | None = None
    _request_id: str | None = None
    _cancel_requested = False

    def on_message(self, message: str | bytes) -> None:
        if len(message) > self.limits.max_body_bytes:
            self.send({"type": "error", "status": 413, "message": "message too large"})
            return
        try:
            body = json.loads(message)
        except ValueError:
            self.send({"type": "error", "status": 400, "message": "message is not valid JSON"})
            return
        kind = body.get("type") if isinstance(body, dict) else None
        if kind == "cancel":
            self._cancel()
            return
        if kind != "generate":
            self.send({"type": "error", "status": 400, "message": "type: generate or cancel"})
            return
        if self._task is not None and not self._task.done():
            self.send({"type": "error", "status": 409, "message": "already generating"})
            return
        self._cancel_requested = False
        self._task = asyncio.ensure_future(self._generate(body))

    def _cancel(self) -> None:
        self._cancel_requested = True
        if self._request_id is not None:
            self.engine.cancel(self._request_id, self.username)

    async def _generate(self, body: dict[str, Any]) -> None:
        engine = self.engine
        events: AsyncGenerator[Any, None] | None = None
        try:
            request = parse_generate(body, engine.config.defaults, self.limits.max_prompt_chars)
            events = engine.generate(
                self.username,
                request.messages,
                request.options,
                model=request.model,
                request_id=request.request_id,
            )
            async for event in events:
                if isinstance(event, GenerationStart):
                    self._request_id = event.request_id
                    if self._cancel_requested:
                        self._cancel()
                if not self.send(event_to_dict(event)):
                    break
        except EngineError as exc:
            self.send_engine_error(exc)
        except ValueError as exc:
            self.send({"type": "error", "status": 409, "message": str(exc)})
        finally:
            self._request_id = None
            if events is not None:
                await events.aclose()

    def on_close(self) -> None:
        self._cancel()


def handlers() -> list[tuple[str, type]]:
    """The extension's routes, relative to the server's base_url."""
    from .speech_stream import TranscribeStreamWebSocket  # imports this module: import late

    routes: list[tuple[str, type]] = [
        (r"/neira/api/status", StatusHandler),
        (r"/neira/api/generate", GenerateHandler),
        (r"/neira/api/generate/ws", GenerateWebSocket),
        (r"/neira/api/requests/([A-Za-z0-9_-]{1,64})", CancelHandler),
        (r"/neira/api/transcribe", TranscribeHandler),
        (r"/neira/api/transcribe/stream", TranscribeStreamWebSocket),
        (r"/neira/api/correct", CorrectHandler),
    ]
    return routes
