"""What neira's own API refuses, and that the server keeps serving after it.

Every endpoint and WebSocket refuses a request without the token (403), a
browser's cookie-only POST needs the ``_xsrf`` token; bad input is a 400
that says what is wrong, oversized bodies a 413, a full queue a 429 with
``Retry-After``, and a prompt longer than the context the request's fault
(400), not the model's: the primary stays in service.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import websocket_connect

from neira_jupyter.protocol import ROUTES
from tests.conftest import Fetch, get_status, wait_ready
from tests.support.helpers import post_json
from tests.support.neira_http import error_message, error_response, fetch_raw, stream_generate
from tests.support.prompts import PROMPT

ENDPOINTS = [
    (route.method.upper(), "neira/api/" + route.path.replace("{request_id}", "abc"))
    for route in ROUTES
    if route.status != 101
]
SOCKETS = [route.path for route in ROUTES if route.status == 101]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_every_endpoint_refuses_unauthenticated(
    method: str, path: str, jp_fetch: Fetch, jp_http_port: int, jp_base_url: str
) -> None:
    body = b"{}" if method == "POST" else None
    response = await fetch_raw(jp_http_port, jp_base_url, path, method, body)
    assert response.code == 403
    # the same request with the token is let in (so the 403 was about authentication)
    await get_status(jp_fetch)


@pytest.mark.parametrize("path", SOCKETS)
async def test_every_websocket_refuses_unauthenticated(
    path: str, jp_fetch: Fetch, jp_http_port: int, jp_base_url: str
) -> None:
    await get_status(jp_fetch)  # the server is up and answers authenticated requests
    url = f"ws://localhost:{jp_http_port}{jp_base_url}neira/api/{path}"
    with pytest.raises(HTTPClientError) as error:
        await websocket_connect(url)
    assert error.value.code == 403


async def test_bad_input_gets_clear_4xx_and_server_keeps_serving(jp_fetch: Fetch) -> None:
    await wait_ready(jp_fetch)
    cases: list[tuple[str, bytes, dict[str, str], str]] = [
        ("generate", b"{not json", {}, "not valid JSON"),
        ("generate", b"[1, 2]", {}, "JSON object"),
        ("generate", b'{"prompt": "hi", "temperature": "hot"}', {}, "temperature"),
        ("generate", b'{"prompt": "hi", "max_tokens": 0}', {}, "max_tokens"),
        ("generate", b'{"prompt": "hi", "model": "/etc/passwd"}', {}, "unknown model"),
        ("generate", b'{"messages": [{"role": "robot", "content": "x"}]}', {}, "role"),
        ("correct", b'{"txt": "a"}', {}, "unknown field"),
        ("transcribe", b"this is not audio at all", {"Content-Type": "audio/wav"}, "decode"),
        ("transcribe", b"", {"Content-Type": "audio/wav"}, "no audio"),
        ("transcribe", b"abc", {"Content-Type": "audio/L16"}, "PCM"),
    ]
    for path, body, headers, expected in cases:
        with pytest.raises(HTTPClientError) as error:
            await jp_fetch("neira", "api", path, method="POST", body=body, headers=headers)
        assert error.value.code == 400, (path, body)
        message = error_message(error.value)
        assert expected.lower() in message.lower(), (path, body, message)
    status = await get_status(jp_fetch)
    assert status["route"]["backend"] == "primary"
    response = await post_json(
        jp_fetch, "generate", {"prompt": "hi", "max_tokens": 2, "stream": False}
    )
    assert json.loads(response.body)["usage"]["completion_tokens"] >= 1


@pytest.mark.parametrize("neira_config", [{"max_body_bytes": 1000, "max_audio_bytes": 5000}])
async def test_oversized_bodies_get_413(jp_fetch: Fetch) -> None:
    with pytest.raises(HTTPClientError) as error:
        await post_json(jp_fetch, "generate", {"prompt": "x" * 2000})
    assert error.value.code == 413
    assert "limit" in error_message(error.value)
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch(
            "neira", "api", "transcribe", method="POST", body=b"\0" * 6000,
            headers={"Content-Type": "audio/wav"},
        )  # fmt: skip
    assert error.value.code == 413


# one slot: the second long request waits in the queue instead of joining the batch
@pytest.mark.parametrize("neira_config", [{"queue_size": 1, "retry_after": 3, "llm_slots": 1}])
async def test_full_queue_answers_429(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> None:
    await wait_ready(jp_fetch)
    long = {"prompt": PROMPT, "max_tokens": 1500, "temperature": 0}  # runs until cancelled
    first_token = asyncio.Event()

    def on_event(event: dict[str, Any]) -> None:
        if event["type"] == "token":
            first_token.set()

    running = asyncio.ensure_future(
        stream_generate(
            jp_http_port, jp_base_url, jp_auth_header, {**long, "request_id": "r1"}, on_event
        )
    )
    await first_token.wait()
    waiting = asyncio.ensure_future(
        stream_generate(jp_http_port, jp_base_url, jp_auth_header, {**long, "request_id": "r2"})
    )
    while (await get_status(jp_fetch))["queue"]["depth"] < 1:
        await asyncio.sleep(0.02)
    with pytest.raises(HTTPClientError) as error:
        await post_json(jp_fetch, "generate", {**long, "request_id": "r3"})
    assert error.value.code == 429
    assert error_response(error.value).headers["Retry-After"] == "3"
    assert "queue is full" in error_message(error.value)
    for request_id in ("r2", "r1"):
        await jp_fetch("neira", "api", "requests", request_id, method="DELETE")
    for future in (running, waiting):
        response, stream = await future
        assert response.code == 200
        assert stream.done()["finish_reason"] == "cancelled"


async def test_prompt_longer_than_the_context_is_the_requests_fault(jp_fetch: Fetch) -> None:
    await wait_ready(jp_fetch)
    too_long = {"prompt": "word " * 3000, "max_tokens": 8, "stream": False}
    for _ in range(3):  # more than max_local_attempts: must not take the model offline
        with pytest.raises(HTTPClientError) as error:
            await post_json(jp_fetch, "generate", too_long)
        assert error.value.code == 400
        assert "context" in error_message(error.value)
    status = await get_status(jp_fetch)
    assert status["route"]["backend"] == "primary"
    short = {"prompt": "hi", "max_tokens": 2, "stream": False}
    response = await post_json(jp_fetch, "generate", short)
    assert json.loads(response.body)["route"] == "primary"


async def test_browser_posts_need_the_xsrf_token(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, jp_serverapp: Any
) -> None:
    await get_status(jp_fetch)
    token = jp_serverapp.identity_provider.token
    # a browser logs in with the token once and then carries cookies, not the token
    login = await fetch_raw(jp_http_port, jp_base_url, f"tree?token={token}")
    set_cookies = login.headers.get_list("Set-Cookie")
    cookie = "; ".join(c.split(";")[0] for c in set_cookies)
    xsrf = next(c.split(";")[0].split("=", 1)[1] for c in set_cookies if c.startswith("_xsrf="))
    body = json.dumps({"text": "hello there"}).encode()
    status = await fetch_raw(
        jp_http_port, jp_base_url, "neira/api/status", headers={"Cookie": cookie}
    )
    assert status.code == 200
    refused = await fetch_raw(
        jp_http_port, jp_base_url, "neira/api/correct", "POST", body, {"Cookie": cookie}
    )
    assert refused.code == 403
    assert "_xsrf" in json.loads(refused.body)["message"]
    accepted = await fetch_raw(
        jp_http_port,
        jp_base_url,
        "neira/api/correct",
        "POST",
        body,
        {"Cookie": cookie, "X-XSRFToken": xsrf},
    )
    assert accepted.code == 200
    assert json.loads(accepted.body)["raw"] == "hello there"
