"""Where the chat's answers come from: the resident engine, or the shared service's relay.

The persona does not write a second generation path. On a server with a
model it calls ``serving.generate`` (``open_generation`` + ``neira_events``),
exactly as ``POST api/generate`` does, so the fair queue, quotas, routing
and cancellation are the same. On JupyterHub (``NeiraApp.service_url``) the
user's server has no engine but a ``Relay``: the persona posts the same
``GenerateRequest`` to the service's ``neira/api/generate`` with the relay's
token (the user's Hub token, so quotas and fairness are the user's) and
reads the NDJSON events; closing that stream cancels the service's job.

Either way the persona sees protocol events (``start``, ``token``...,
``done`` or ``error``), and ``ChatGeneration.cancel`` stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from pydantic import TypeAdapter, ValidationError

from ..engine.service import NeiraEngine
from ..engine.types import EngineError
from ..protocol import API_PREFIX, ErrorEvent, GenerateEvent, GenerateRequest, WireModel
from ..server.base import ENGINE_KEY, ISOLATE_KEY, LIMITS_KEY, SHARED_OWNER
from ..server.relay import RELAY_KEY, Relay
from ..serving.errors import error_event
from ..serving.generate import neira_events, open_generation
from ..serving.limits import RequestLimits

_EVENT: TypeAdapter[Any] = TypeAdapter(GenerateEvent)


class ChatGeneration:
    """One answer being generated; iterate ``events()`` once, ``cancel()`` from anywhere."""

    def __init__(self, backend: ChatBackend, user: str, request: GenerateRequest) -> None:
        self._backend = backend
        self._user = user
        self._request = request
        self._request_id: str | None = None
        self._cancelled = False
        self._reader: asyncio.Task[Any] | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Stop the generation: the engine's job is cancelled (locally by id, through the
        relay by closing the upstream stream, which cancels the service's job)."""
        self._cancelled = True
        engine = self._backend.engine
        if engine is not None and self._request_id is not None:
            engine.cancel(self._request_id, self._user)
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()

    async def events(self) -> AsyncIterator[WireModel]:
        """The protocol events of the answer (an engine refusal is one ``error`` event)."""
        if self._backend.engine is not None and self._backend.limits is not None:
            source = self._local(self._backend.engine, self._backend.limits)
        elif self._backend.relay is not None:
            source = self._relayed(self._backend.relay)
        else:
            source = _one(ErrorEvent(status=503, message="neira is not running on this server"))
        async for event in source:
            yield event

    async def _local(self, engine: NeiraEngine, limits: RequestLimits) -> AsyncIterator[WireModel]:
        try:
            generation = await open_generation(engine, self._user, self._request, limits)
        except EngineError as exc:
            yield error_event(exc)
            return
        self._request_id = generation.request_id
        if self._cancelled:  # stopped while it waited for its start
            engine.cancel(generation.request_id, self._user)
        events = neira_events(generation)
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()
            await generation.aclose()

    async def _relayed(self, relay: Relay) -> AsyncIterator[WireModel]:
        queue: asyncio.Queue[WireModel | None] = asyncio.Queue()
        self._reader = asyncio.ensure_future(self._read_relay(relay, queue))
        if self._cancelled:
            self._reader.cancel()
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                await asyncio.wait({getter, self._reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    event = getter.result()
                    if event is None:
                        return
                    yield event
                    continue
                getter.cancel()
                while not queue.empty():
                    item = queue.get_nowait()
                    if item is None:
                        return
                    yield item
                return  # the reader ended (cancelled) without its end marker
        finally:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    async def _read_relay(self, relay: Relay, queue: asyncio.Queue[WireModel | None]) -> None:
        body = self._request.model_dump_json(exclude_none=True)
        headers = {**relay.headers(), "Content-Type": "application/json",
                   "Accept": "application/x-ndjson"}  # fmt: skip
        url = relay.url(f"{API_PREFIX}generate")
        try:
            async with relay.client.stream("POST", url, content=body, headers=headers) as answer:
                if answer.status_code != 200:
                    await queue.put(await _refusal(answer))
                    return
                async for line in answer.aiter_lines():
                    if line.strip():
                        await queue.put(_parse(line))
        except httpx.HTTPError as exc:
            await queue.put(ErrorEvent(status=502, message=f"the neira service: {exc}"))
        finally:
            queue.put_nowait(None)


class ChatBackend:
    """The engine or relay of this Jupyter server, read from its tornado settings."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.engine: NeiraEngine | None = settings.get(ENGINE_KEY)
        self.relay: Relay | None = settings.get(RELAY_KEY)
        self.limits: RequestLimits | None = settings.get(LIMITS_KEY)
        self.isolate: bool = bool(settings.get(ISOLATE_KEY, False))
        if self.engine is not None:
            self.engine.start()  # idempotent, as in the handlers

    def user(self, chat_username: str) -> str:
        """Whose generation this is in the engine: the chat user when users are kept apart
        (``NeiraApp.isolate_users``), else the server's owner, as for the handlers."""
        return chat_username if self.isolate else SHARED_OWNER

    @property
    def context_tokens(self) -> int | None:
        """The local model's context size (None when relayed: the service knows it)."""
        primary = self.engine.config.primary if self.engine is not None else None
        return int(primary.n_ctx) if primary is not None else None

    def generate(self, user: str, request: GenerateRequest) -> ChatGeneration:
        return ChatGeneration(self, user, request)


def _parse(line: str) -> WireModel:
    try:
        event: WireModel = _EVENT.validate_json(line)
    except ValidationError:
        return ErrorEvent(status=502, message=f"unexpected line from the service: {line[:200]!r}")
    return event


async def _refusal(answer: httpx.Response) -> ErrorEvent:
    """The service's refusal (403, 429, 503...) as an ``error`` event."""
    text = (await answer.aread()).decode("utf-8", "replace")
    try:
        message = str(httpx.Response(200, content=text).json().get("message", text))
    except ValueError:
        message = text[:500]
    retry = answer.headers.get("Retry-After")
    return ErrorEvent(
        status=answer.status_code,
        message=message,
        retry_after=int(retry) if retry and retry.isdigit() else None,
    )


async def _one(event: WireModel) -> AsyncIterator[WireModel]:
    yield event
