"""Test helpers that talk to a real server: streaming NDJSON reads and unauthenticated fetches."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse


def server_url(port: int, base_url: str, *parts: str) -> str:
    return f"http://localhost:{port}{base_url}" + "/".join(parts)


class NDJSONCollector:
    """Splits a chunked NDJSON body into events as it arrives."""

    def __init__(self, on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.chunks = 0
        self._buffer = b""
        self._on_event = on_event

    def __call__(self, chunk: bytes) -> None:
        self.chunks += 1
        self._buffer += chunk
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            if line.strip():
                event = json.loads(line)
                self.events.append(event)
                if self._on_event is not None:
                    self._on_event(event)

    def tokens(self) -> list[str]:
        return [e["text"] for e in self.events if e["type"] == "token"]

    def done(self) -> dict[str, Any]:
        finals = [e for e in self.events if e["type"] == "done"]
        assert len(finals) == 1, self.events
        return finals[0]


async def stream_generate(
    port: int,
    base_url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    on_event: Callable[[dict[str, Any]], None] | None = None,
    route: str = "generate",
) -> tuple[HTTPResponse, NDJSONCollector]:
    """POST api/generate (or another streaming ``route``) and collect the streamed events
    as they arrive."""
    collector = NDJSONCollector(on_event)
    request = HTTPRequest(
        server_url(port, base_url, "neira", "api", route),
        method="POST",
        headers={**headers, "Content-Type": "application/json"},
        body=json.dumps(body),
        streaming_callback=collector,
        request_timeout=300,
    )
    response = await AsyncHTTPClient().fetch(request, raise_error=False)
    return response, collector


async def fetch_raw(
    port: int,
    base_url: str,
    path: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> HTTPResponse:
    """A request with exactly the given headers (no token unless given)."""
    request = HTTPRequest(
        server_url(port, base_url, path),
        method=method,
        body=body,
        headers=headers or {},
        allow_nonstandard_methods=True,
        request_timeout=300,
    )
    try:
        return await AsyncHTTPClient().fetch(request, raise_error=False)
    except HTTPClientError as exc:  # pragma: no cover - raise_error=False returns instead
        assert exc.response is not None
        return exc.response


def error_response(error: HTTPClientError) -> HTTPResponse:
    """The response of a refused request (``pytest.raises(HTTPClientError)``'s value)."""
    assert error.response is not None, error
    return error.response


def error_message(error: HTTPClientError) -> str:
    """The ``message`` of a refused request's JSON error body."""
    message: str = json.loads(error_response(error).body)["message"]
    return message


def sse_documents(body: bytes) -> list[Any]:
    """The JSON documents of an SSE body, checking it ends with ``data: [DONE]``."""
    events = [e for e in body.decode().split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    return [json.loads(e[6:]) for e in events[:-1]]
