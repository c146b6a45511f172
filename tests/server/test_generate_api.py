"""Generation over neira's own API on a real jupyter server with the demo models, auth on.

The server reports its demo models; ``api/generate`` streams NDJSON (or SSE
when asked) whose tokens join to the non-streamed answer; a request stops
early when it is cancelled by ``DELETE api/requests/<id>``, by a ``cancel``
message on the WebSocket, or by the client closing its connection.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from neira_jupyter.engine.models import DEMO_LLM_NAME
from tests.conftest import Fetch, get_status, wait_ready
from tests.support.helpers import post_json
from tests.support.neira_http import stream_generate
from tests.support.prompts import PROMPT


async def test_status_reports_demo_models(jp_fetch: Fetch) -> None:
    status = await wait_ready(jp_fetch)
    assert status["demo"] is True
    roles = {m["role"]: m for m in status["models"]}
    assert roles["primary"]["state"] == "ready"
    assert roles["primary"]["file"].endswith(".gguf")
    assert roles["speech"]["state"] == "ready"
    assert status["queue"] == {**status["queue"], "depth": 0, "running": 0}
    assert status["route"]["backend"] == "primary"
    assert re.match(r"\d+\.\d+\.\d+", status["version"])


async def test_extension_is_listed_as_enabled(jp_serverapp: Any) -> None:
    assert "neira_jupyter" in jp_serverapp.extension_manager.extensions
    assert jp_serverapp.extension_manager.extensions["neira_jupyter"].enabled


async def test_streamed_chunks_join_to_the_non_streamed_answer(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> None:
    await wait_ready(jp_fetch)
    body = {"prompt": PROMPT, "temperature": 0, "max_tokens": 32}
    response, stream = await stream_generate(jp_http_port, jp_base_url, jp_auth_header, body)
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/x-ndjson")
    assert stream.events[0]["type"] == "start"
    assert stream.chunks > 1
    assert len(stream.tokens()) > 1
    done = stream.done()
    assert done["usage"]["completion_tokens"] > 1
    assert done["usage"]["prompt_tokens"] > 1
    assert done["timings"]["first_token_ms"] > 0
    assert done["timings"]["tokens_per_second"] > 0
    assert done["model"] == DEMO_LLM_NAME
    assert done["request_id"] == stream.events[0]["request_id"]

    whole = await post_json(jp_fetch, "generate", {**body, "stream": False, "request_id": "w1"})
    document = json.loads(whole.body)
    assert document["request_id"] == "w1"
    assert "".join(stream.tokens()) == document["text"] == done["text"]
    assert document["finish_reason"] in {"stop", "length"}


async def test_sse_when_the_client_asks_for_event_stream(jp_fetch: Fetch) -> None:
    await wait_ready(jp_fetch)
    response = await post_json(
        jp_fetch,
        "generate",
        {"prompt": PROMPT, "max_tokens": 4, "temperature": 0},
        headers={"Accept": "text/event-stream"},
    )
    assert response.headers["Content-Type"].startswith("text/event-stream")
    lines = [line for line in response.body.decode().split("\n\n") if line]
    assert all(line.startswith("data: ") for line in lines)
    assert json.loads(lines[-1][6:])["type"] == "done"


async def test_cancel_stops_generation_early(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> None:
    await wait_ready(jp_fetch)
    cancelled: list[Any] = []

    def on_event(event: dict[str, Any]) -> None:
        if event["type"] == "token" and not cancelled:
            cancelled.append(
                asyncio.ensure_future(
                    jp_fetch("neira", "api", "requests", "cancel-me-1", method="DELETE")
                )
            )

    # greedy decoding makes the demo model repeat itself without an end token
    body = {"prompt": PROMPT, "max_tokens": 1500, "temperature": 0, "request_id": "cancel-me-1"}
    _, stream = await stream_generate(jp_http_port, jp_base_url, jp_auth_header, body, on_event)
    assert (await cancelled[0]).code == 204
    done = stream.done()
    assert done["finish_reason"] == "cancelled"
    assert done["usage"]["completion_tokens"] < 1500
    status = await get_status(jp_fetch)
    assert status["queue"]["running"] == 0


async def test_cancel_of_unknown_request_is_404(jp_fetch: Fetch) -> None:
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("neira", "api", "requests", "nope", method="DELETE")
    assert error.value.code == 404


async def test_websocket_generate_and_cancel(jp_fetch: Fetch, jp_ws_fetch: Any) -> None:
    await wait_ready(jp_fetch)
    ws = await jp_ws_fetch("neira", "api", "generate", "ws")
    request = {"type": "generate", "prompt": PROMPT, "max_tokens": 1500, "temperature": 0}
    await ws.write_message(json.dumps(request))
    events = []
    while True:
        event = json.loads(await ws.read_message())
        events.append(event)
        if event["type"] == "token" and len(events) == 3:
            await ws.write_message(json.dumps({"type": "cancel"}))
        if event["type"] in {"done", "error"}:
            break
    ws.close()
    assert events[0]["type"] == "start"
    assert events[-1]["type"] == "done"
    assert events[-1]["finish_reason"] == "cancelled"
    assert events[-1]["usage"]["completion_tokens"] < 1500


async def test_closing_the_connection_cancels_the_generation(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> None:
    await wait_ready(jp_fetch)
    body = json.dumps({"prompt": PROMPT, "max_tokens": 1500, "temperature": 0}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
    head = (
        f"POST {jp_base_url}neira/api/generate HTTP/1.1\r\nHost: localhost\r\n"
        f"Authorization: {jp_auth_header['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    received = b""
    while b'"type": "token"' not in received:
        received += await reader.read(4096)
    assert (await get_status(jp_fetch))["queue"]["running"] == 1
    writer.close()
    await writer.wait_closed()
    for _ in range(200):  # the worker notices within a token or two
        if (await get_status(jp_fetch))["queue"]["running"] == 0:
            break
        await asyncio.sleep(0.05)
    assert (await get_status(jp_fetch))["queue"]["running"] == 0
