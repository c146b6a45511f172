"""``RemoteModel``: an OpenAI-compatible chat backend (vLLM, llama.cpp server, Ollama).

Used by the router only when ``allow_external_api`` is on (offline first).
``stream`` is the async core: one ``httpx.AsyncClient`` request,
``POST {base_url}/chat/completions`` with ``stream: true``, whose server-sent
events are read as they arrive. Reads are bounded: an event line longer than
``MAX_EVENT_BYTES`` or a pause longer than ``timeout_s`` ends the request with
an ``EngineError``. Cancelling (a set ``CancelToken``, or closing the
generator) closes the connection, which is how an OpenAI-compatible server
learns to stop generating.

``generate`` gives the same blocking surface as ``LlamaModel`` -- ``TokenChunk``s,
then one ``GenerationResult`` -- so the engine runs it on a worker lane like a
local model; it drives ``stream`` on an event loop of its own in that worker
thread. The API key is sent as a Bearer token and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import AsyncGenerator, Iterator, Sequence
from functools import cached_property
from typing import Any

import httpx

from ..endpoint import RemoteEndpoint, RemoteSpec
from ..types import (
    BadRequest,
    CancelToken,
    ChatMessage,
    EngineError,
    FinishReason,
    GenerationOptions,
    GenerationResult,
    Timings,
    Usage,
)
from .base import TokenChunk

__all__ = ["MAX_EVENT_BYTES", "RemoteModel", "RemoteSpec"]

MAX_EVENT_BYTES = 1 << 20
"""The longest server-sent event line accepted (1 MiB); a chunk carries a few tokens."""

_CANCEL_POLL_S = 0.05


class RemoteModel(RemoteEndpoint):
    """A chat model behind an OpenAI-compatible HTTP API."""

    kind = "llm"

    @cached_property
    def _ssl(self) -> ssl.SSLContext:
        """One TLS context for every request (building one costs milliseconds)."""
        return ssl.create_default_context()

    def _request(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The JSON body and headers of one streamed chat completion request."""
        if options.n > 1:
            raise BadRequest("field 'n' is more than 1, which the remote backend is not asked for")
        if options.logprobs is not None:
            raise BadRequest(
                "field 'logprobs' is not supported through the remote backend; "
                "log probabilities are computed on the local batched path"
            )
        if options.tools is not None or any(m.role == "tool" or m.tool_calls for m in messages):
            raise BadRequest(
                "field 'tools' is not supported through the remote backend; "
                "tools are called on the local models"
            )
        body: dict[str, Any] = {
            "model": self.spec.model,
            "messages": [m.to_dict() for m in messages],
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "top_p": options.top_p,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if options.stop:
            body["stop"] = list(options.stop)
        if options.seed is not None:
            body["seed"] = options.seed
        for name in ("presence_penalty", "frequency_penalty"):
            if getattr(options, name):
                body[name] = getattr(options, name)
        if options.logit_bias:
            body["logit_bias"] = {str(token): shift for token, shift in options.logit_bias}
        if options.json_schema is not None:  # OpenAI's structured output, the same request
            schema = json.loads(options.json_schema)
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema},
            }
        headers = {"Accept": "text/event-stream"}
        if self.spec.api_key:
            headers["Authorization"] = f"Bearer {self.spec.api_key}"
        return body, headers

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken | None = None,
    ) -> AsyncGenerator[TokenChunk | GenerationResult, None]:
        """Stream a chat completion: ``TokenChunk``s, then one ``GenerationResult``.

        Raises ``EngineError`` when the server cannot be reached, answers an
        error status, goes quiet for ``timeout_s`` or sends a malformed event.
        """
        body, headers = self._request(messages, options)
        url = self.spec.base_url.rstrip("/") + "/chat/completions"
        started = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        finish: FinishReason = "stop"
        usage = Usage()
        try:
            async with (
                httpx.AsyncClient(timeout=self.spec.timeout_s, verify=self._ssl) as client,
                client.stream("POST", url, json=body, headers=headers) as response,
            ):
                if response.status_code >= 400:
                    raise EngineError(await self._status_error(response))
                async for data in _until_cancelled(_sse_data(response), cancel):
                    if data is None:
                        finish = "cancelled"
                        break
                    if data == "[DONE]":
                        break
                    event = _parse_event(data)
                    if event.get("usage"):
                        usage = Usage(
                            int(event["usage"].get("prompt_tokens", 0)),
                            int(event["usage"].get("completion_tokens", 0)),
                        )
                    for choice in event.get("choices") or []:
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            first = first if first is not None else time.perf_counter()
                            pieces.append(text)
                            yield TokenChunk(text)
                        if choice.get("finish_reason") == "length":
                            finish = "length"
        except httpx.HTTPError as exc:
            raise EngineError(self.transport_failure(exc, "remote API")) from exc
        ended = time.perf_counter()
        if not usage.completion_tokens:
            usage.completion_tokens = len(pieces)
        yield GenerationResult(
            text="".join(pieces),
            model=self.name,
            finish_reason=finish,
            usage=usage,
            timings=Timings(
                first_token_ms=(first - started) * 1000 if first is not None else None,
                total_ms=(ended - started) * 1000,
            ),
        )

    async def _status_error(self, response: httpx.Response) -> str:
        """The error an HTTP status means, with the server's own message when it sent one."""
        raw = b""
        async for piece in response.aiter_bytes():
            raw += piece
            if len(raw) > 4096:
                break
        detail = raw[:4096].decode("utf-8", "replace").strip()
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            error = json.loads(detail)["error"]
            detail = str(error.get("message") if isinstance(error, dict) else error)
        what = {401: "rejected the API key", 403: "refused access", 404: "has no such model"}
        said = what.get(response.status_code, "answered an error")
        return (
            f"remote API {self.spec.public_url} {said} (HTTP {response.status_code}): "
            f"{detail[:300] or response.reason_phrase}"
        )

    def generate(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken | None = None,
    ) -> Iterator[TokenChunk | GenerationResult]:
        """``stream`` as a blocking iterator, on an event loop of the calling thread's own."""
        loop = asyncio.new_event_loop()
        events = self.stream(messages, options, cancel)
        try:
            while True:
                try:
                    yield loop.run_until_complete(anext(events))
                except StopAsyncIteration:
                    return
        finally:
            loop.run_until_complete(events.aclose())  # closes the connection
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


async def _sse_data(response: httpx.Response) -> AsyncGenerator[str, None]:
    """The ``data:`` payloads of a server-sent event stream (lines up to ``MAX_EVENT_BYTES``)."""
    buffer = b""
    async for piece in response.aiter_bytes():
        buffer += piece
        *lines, buffer = buffer.split(b"\n")
        if len(buffer) > MAX_EVENT_BYTES:
            raise EngineError(f"remote API sent an event longer than {MAX_EVENT_BYTES} bytes")
        for line in lines:
            text = line.decode("utf-8", "replace").strip()
            if text.startswith("data:"):
                yield text[len("data:") :].strip()


async def _until_cancelled(
    items: AsyncGenerator[str, None], cancel: CancelToken | None
) -> AsyncGenerator[str | None, None]:
    """``items`` until ``cancel`` is set, checked while waiting too; then one ``None``."""
    waiting: asyncio.Task[str] | None = None
    try:
        while True:
            if cancel is not None and cancel.cancelled:
                yield None
                return
            if waiting is None:
                waiting = asyncio.ensure_future(anext(items))
            done, _ = await asyncio.wait({waiting}, timeout=_CANCEL_POLL_S if cancel else None)
            if not done:
                continue
            task, waiting = waiting, None
            try:
                item = task.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if waiting is not None:
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await waiting
        await items.aclose()


def _parse_event(data: str) -> dict[str, Any]:
    try:
        event = json.loads(data)
    except ValueError as exc:
        raise EngineError(f"remote API sent a bad event: {data[:80]!r}") from exc
    if not isinstance(event, dict):
        raise EngineError(f"remote API sent a bad event: {data[:80]!r}")
    return event
