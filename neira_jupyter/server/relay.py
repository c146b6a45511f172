"""The relay: a single-user server that forwards ``neira/api/*`` and ``neira/v1/*`` to a
shared neira service.

With ``NeiraApp.service_url`` (or ``NEIRA_SERVICE_URL``) set, the extension
loads no model; every neira route (the neira API and the OpenAI-compatible
one) is forwarded to ``{service_url}neira/...`` with the user's own Hub token
(``NeiraApp.service_token``, by default ``JUPYTERHUB_API_TOKEN`` of the
single-user server), so the service sees the Hub user. Callers (magics,
widget, Dictate, status bar) are authenticated here first, as for the local
routes.

HTTP: the request body is read with a size limit, then sent on; the answer
streams back as it arrives (status, body, ``Content-Type``, ``Retry-After``),
and a client that leaves closes the upstream request, which cancels the
service's job. WebSockets: the upstream socket is opened before the upgrade,
so a refusal (403, 429) reaches the client as the same HTTP status; then
messages are copied both ways, and either side's close closes the other.
Every relayed answer carries ``X-Neira-Relay: <service_url>``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx
from jupyter_server.auth.decorator import authorized
from tornado import httpclient, web, websocket

from ..protocol import API_PREFIX
from ..protocol.openai import OPENAI_PREFIX
from .base import AUTH_RESOURCE, APIError, NeiraAPIHandler, NeiraWebSocketHandler

RELAY_KEY = "neira_relay"
RELAY_HEADER = "X-Neira-Relay"
PASSED_HEADERS = ("Content-Type", "Retry-After", "Cache-Control", "X-Accel-Buffering")
SOCKET_PATHS = ("generate/ws", "transcribe/stream")


@dataclass
class Relay:
    """Where the service is and the token the relay presents to it."""

    service_url: str
    token: str
    timeout_s: float = 600.0
    _client: httpx.AsyncClient | None = None

    def url(self, path: str, query: str = "", scheme: str = "http") -> str:
        """The service's URL for ``path`` (``neira/api/...`` or ``neira/v1/...``)."""
        base = self.service_url if self.service_url.endswith("/") else self.service_url + "/"
        url = f"{base}{path}" + (f"?{query}" if query else "")
        if scheme == "ws":
            url = "ws" + url[len("http") :] if url.startswith("http") else url
        return url

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"} if self.token else {}

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout_s, connect=10.0), follow_redirects=False
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


@web.stream_request_body
class RelayHandler(NeiraAPIHandler):
    """Every neira REST route (both prefixes): forwarded to the service, the answer
    streamed back."""

    _body: bytearray
    _task: asyncio.Future[None] | None = None
    _client_left = False

    @property
    def relay(self) -> Relay:
        relay: Relay = self.settings[RELAY_KEY]
        return relay

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        self._body = bytearray()

    def data_received(self, chunk: bytes) -> None:
        self._body.extend(chunk)
        if len(self._body) > self.limits.max_audio_bytes:  # the largest body any route takes
            raise web.HTTPError(413, f"request body exceeds {self.limits.max_audio_bytes} bytes")

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        await self._relay(path)

    @web.authenticated
    @authorized("execute")
    async def post(self, path: str) -> None:
        await self._relay(path)

    @web.authenticated
    @authorized("execute")
    async def delete(self, path: str) -> None:
        await self._relay(path)

    async def _relay(self, path: str) -> None:
        self._task = asyncio.ensure_future(self._forward(path))
        try:
            await self._task
        except asyncio.CancelledError:
            if not self._client_left:
                raise

    async def _forward(self, path: str) -> None:
        relay = self.relay
        headers = relay.headers()
        for name in ("Content-Type", "Accept"):
            if name in self.request.headers:
                headers[name] = self.request.headers[name]
        request = relay.client.build_request(
            self.request.method or "GET",
            relay.url(path, self.request.query),
            headers=headers,
            content=bytes(self._body) if self._body else None,
        )
        try:
            response = await relay.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise web.HTTPError(502, f"the neira service is unreachable: {exc}") from None
        try:
            self.set_status(response.status_code, response.reason_phrase or None)
            self.set_header(RELAY_HEADER, relay.service_url)
            for name in PASSED_HEADERS:
                if name in response.headers:
                    self.set_header(name, response.headers[name])
            async for chunk in response.aiter_bytes():
                self.write(chunk)
                await self.flush()
        finally:
            await response.aclose()
        kind = response.headers.get("Content-Type", "application/json")
        await self.finish(set_content_type=kind)

    def on_connection_close(self) -> None:
        self._client_left = True  # closing the upstream stream cancels the service's job
        if self._task is not None:
            self._task.cancel()
        super().on_connection_close()


class RelaySocket(NeiraWebSocketHandler):
    """``generate/ws`` and ``transcribe/stream``: one upstream socket per client socket."""

    _upstream: websocket.WebSocketClientConnection | None = None
    _pump: asyncio.Future[None] | None = None

    @property
    def relay(self) -> Relay:
        relay: Relay = self.settings[RELAY_KEY]
        return relay

    async def pre_get(self) -> None:
        await super().pre_get()
        path = API_PREFIX + self.request.path.rsplit(f"/{API_PREFIX}", 1)[-1]
        request = httpclient.HTTPRequest(
            self.relay.url(path, self.request.query, scheme="ws"),
            headers=self.relay.headers(),
            connect_timeout=10.0,
        )
        try:
            self._upstream = await websocket.websocket_connect(request)
        except httpclient.HTTPClientError as exc:
            response = exc.response
            if response is not None and "Retry-After" in response.headers:
                retry = response.headers["Retry-After"]
                raise APIError(exc.code, _reason(response), retry_after=retry) from None
            raise web.HTTPError(exc.code, _reason(response)) from None
        except OSError as exc:
            raise web.HTTPError(502, f"the neira service is unreachable: {exc}") from None

    def busy(self) -> bool:
        return self._upstream is not None  # the service watches idleness

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)
        self._pump = asyncio.ensure_future(self._copy_down())

    async def _copy_down(self) -> None:
        upstream = self._upstream
        while upstream is not None:
            message = await upstream.read_message()
            if message is None:
                code = upstream.close_code if upstream.close_code not in (None, 1005) else 1000
                self.close(code, upstream.close_reason)
                return
            try:
                await self.write_message(message, binary=isinstance(message, bytes))
            except websocket.WebSocketClosedError:
                return

    async def on_message(self, message: str | bytes) -> None:
        self.touch()
        if self._upstream is not None:
            try:
                await self._upstream.write_message(message, binary=isinstance(message, bytes))
            except websocket.WebSocketClosedError:
                self.close(1011, "the neira service closed the connection")

    def on_close(self) -> None:
        upstream, self._upstream = self._upstream, None
        if upstream is not None:
            upstream.close(1000, "the client left")
        super().on_close()


def _reason(response: httpclient.HTTPResponse | None) -> str:
    """The service's error message (its JSON ``message``), for the relayed error."""
    if response is None or not response.body:
        return "the neira service refused the connection"
    try:
        return str(json.loads(response.body).get("message", ""))
    except ValueError:
        return response.body.decode("utf-8", "replace")[:500]


def relay_handlers() -> list[tuple[str, type]]:
    """The relay's routes: the two sockets, then every other neira and OpenAI-compatible path."""
    sockets = [(f"/{API_PREFIX}{path}", RelaySocket) for path in SOCKET_PATHS]
    return [
        *sockets,
        (f"/({API_PREFIX}.*)", RelayHandler),
        (f"/({OPENAI_PREFIX}.*)", RelayHandler),
    ]


__all__ = ["AUTH_RESOURCE", "RELAY_KEY", "Relay", "RelayHandler", "RelaySocket", "relay_handlers"]
