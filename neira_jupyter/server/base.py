"""What every neira handler shares: authentication, the engine, limits, bodies, errors.

REST handlers subclass ``NeiraAPIHandler`` (``@web.authenticated`` over
``@authorized``, ``auth_resource = "neira"``, JSON error bodies); WebSockets
subclass ``NeiraWebSocketHandler`` (authenticated, then authorized in
``pre_get``, before the upgrade). Bodies stream in through
``BoundedBodyMixin``: the size is checked from Content-Length before
anything is read, and again while chunks arrive (413 when too large).
Requests are validated with the protocol models (``parse_body``); a
validation problem is a 400 whose message names the field.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, NoReturn, TypeVar

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from pydantic import BaseModel
from tornado import web, websocket
from tornado.ioloop import IOLoop

from ..engine.service import NeiraEngine
from ..engine.types import BadRequest, EngineError
from ..protocol import ProtocolError, WireModel, parse
from ..serving.errors import error_event, retry_after
from ..serving.limits import RequestLimits

ENGINE_KEY = "neira_engine"
LIMITS_KEY = "neira_limits"
ISOLATE_KEY = "neira_isolate_users"
METRICS_KEY = "neira_metrics"
SHARED_OWNER = "owner"
AUTH_RESOURCE = "neira"
INLINE_PARSE_BYTES = 64 * 1024
"""Request bodies up to this size are parsed on the event loop; larger ones in a thread."""

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def parse_body(model: type[M], data: Any) -> M:
    """``data`` (JSON text or a parsed object) as ``model``, or ``BadRequest`` naming the field."""
    try:
        return parse(model, data)
    except ProtocolError as exc:
        raise BadRequest(str(exc)) from None


class APIError(web.HTTPError):
    """An HTTP error whose answer may carry ``Retry-After`` (a full queue, a quota, a relayed
    429); ``write_error`` sets the header from ``retry_after``."""

    def __init__(
        self,
        status: int,
        message: str,
        reason: str | None = None,
        retry_after: int | str | None = None,
    ) -> None:
        super().__init__(status, message, reason=reason)
        self.retry_after = retry_after


def http_error(exc: EngineError) -> APIError:
    """The HTTP error for an engine error (its message is shown to the user)."""
    return APIError(exc.status, str(exc), type(exc).__name__, retry_after(exc))


def set_retry_after(handler: web.RequestHandler, exc_info: Any) -> None:
    """``Retry-After`` from a ``APIError`` (``send_error()`` cleared the headers)."""
    exc = exc_info[1] if exc_info else None
    if isinstance(exc, APIError) and exc.retry_after is not None:
        handler.set_header("Retry-After", str(exc.retry_after))


def count_request(handler: web.RequestHandler) -> None:
    """Count one finished request (an accepted WebSocket finishes with 101) in the metrics."""
    metrics = handler.settings.get(METRICS_KEY)
    if metrics is not None:
        metrics.request(type(handler), handler.get_status())


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

    def send_engine_error(self, exc: EngineError) -> NoReturn:
        """Answer with the engine error's status and message (raises ``HTTPError``)."""
        raise http_error(exc) from exc

    def reply(self, message: WireModel) -> None:
        """Finish with one protocol message as the JSON body (small messages)."""
        self.set_header("Content-Type", "application/json")
        self.finish(message.to_json())

    async def reply_built(self, build: Callable[[], WireModel]) -> None:
        """Finish with the message ``build`` makes; building and encoding run off the loop.

        For answers that grow with the input (transcripts, corrections, long
        generations): their conversion and JSON encoding never stall the server.
        """
        body = await asyncio.to_thread(lambda: build().to_json())
        self.set_header("Content-Type", "application/json")
        self.finish(body)

    def on_finish(self) -> None:
        count_request(self)
        super().on_finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        set_retry_after(self, kwargs.get("exc_info"))
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

    _work: asyncio.Future[Any] | None = None
    _client_left = False

    async def until_disconnect(self, work: Awaitable[T]) -> T:
        """Await ``work``; if the client leaves first, cancel it (its queued or running
        job stops) and end the request quietly."""
        self._work = asyncio.ensure_future(work)
        try:
            return await self._work
        except asyncio.CancelledError:
            if self._client_left:
                raise web.Finish() from None
            raise

    _request_id: str | None = None

    def cancel_on_close(self, request_id: str) -> None:
        """The client leaving from now on cancels the caller's request ``request_id``."""
        self._request_id = request_id

    def on_connection_close(self) -> None:
        """The client left: stop its work now, queued or running."""
        self._client_left = True
        if self._request_id is not None:
            self.engine.cancel(self._request_id, self.username)
        if self._work is not None:
            self._work.cancel()
        super().on_connection_close()

    def data_received(self, chunk: bytes) -> None:
        self._body.extend(chunk)
        if len(self._body) > self.body_limit:
            raise web.HTTPError(413, f"request body exceeds the limit of {self.body_limit} bytes")

    async def parse_json_body(self, model: type[M]) -> M:
        """The body as ``model``; ``BadRequest`` (400) names what is wrong.

        Bodies past ``INLINE_PARSE_BYTES`` are decoded and validated in a worker
        thread, so a large upload never stalls the event loop.
        """
        if not self._body:
            raise BadRequest("the request body is empty; send a JSON object")
        data = bytes(self._body)
        if len(data) <= INLINE_PARSE_BYTES:
            return parse_body(model, data)
        return await asyncio.to_thread(parse_body, model, data)


class NeiraWebSocketHandler(NeiraMixin, JupyterHandler, websocket.WebSocketHandler):
    """Base WebSocket: authenticated and authorized before the upgrade, protocol messages out."""

    auth_resource = AUTH_RESOURCE

    async def prepare(self, *, _redirect_to_login: bool = False) -> None:
        # An API socket answers 403, never a redirect to the login page.
        await super().prepare(_redirect_to_login=False)

    _open_sockets: ClassVar[Counter[str]] = Counter()  # per user, every neira socket
    _counted = False
    _idle_timer: Any = None
    _last_message = 0.0

    async def pre_get(self) -> None:
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "execute", AUTH_RESOURCE)
        )
        if not allowed:
            raise web.HTTPError(403)
        cap = self.limits.max_sockets_per_user
        if cap and self._open_sockets[self.username] >= cap:
            raise web.HTTPError(
                429, f"you already have {cap} neira sockets open; close one and try again"
            )

    @property
    def ping_interval(self) -> float | None:
        """Seconds between pings; a peer that stops answering is dropped."""
        return self.limits.socket_ping_interval or None

    @property
    def ping_timeout(self) -> float | None:
        return self.limits.socket_ping_interval or None

    def open(self, *args: Any, **kwargs: Any) -> None:
        self._open_sockets[self.username] += 1
        self._counted = True
        self.touch()
        self._watch_idle()

    def touch(self) -> None:
        """A message arrived: the socket is in use."""
        self._last_message = time.monotonic()

    def busy(self) -> bool:
        """Whether work of this socket is running (a socket that works is never idle)."""
        return False

    def _watch_idle(self) -> None:
        limit = self.limits.socket_idle_timeout
        if not limit or self.ws_connection is None:
            return
        left = self._last_message + limit - time.monotonic()
        if left <= 0 and not self.busy():
            self.close(1000, f"idle for {limit:g} s")
            return
        delay = max(left, 1.0) if left > 0 else limit
        self._idle_timer = IOLoop.current().call_later(delay, self._watch_idle)

    def on_close(self) -> None:
        if self._idle_timer is not None:
            IOLoop.current().remove_timeout(self._idle_timer)
        if self._counted:
            self._counted = False
            self._open_sockets[self.username] -= 1
            if self._open_sockets[self.username] <= 0:
                del self._open_sockets[self.username]

    def on_finish(self) -> None:
        count_request(self)
        super().on_finish()

    write_error = APIHandler.write_error  # a refused upgrade answers JSON, like the REST routes

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        if self.request.headers.get("Upgrade", "").lower() != "websocket":
            raise web.HTTPError(400, "this route is a WebSocket: connect with Upgrade: websocket")
        await self.pre_get()
        result = super().get(*args, **kwargs)
        if result is not None:
            await result

    def send(self, message: WireModel) -> bool:
        """Send one protocol message; False when the socket is already closed."""
        try:
            self.write_message(message.to_json())
        except websocket.WebSocketClosedError:
            return False
        return True

    def send_engine_error(self, exc: EngineError) -> None:
        self.send(error_event(exc))
