"""The server extension end to end: a real jupyter server, real demo models, auth on."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import jiwer
import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import websocket_connect

from neira_jupyter.engine.models import DEMO_LLM_NAME
from neira_jupyter.protocol import ROUTES
from tests.conftest import Fetch, get_status, wait_ready
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.helpers import post_json, words
from tests.support.neira_http import fetch_raw, stream_generate

SENTENCE = SENTENCES["en"][1]  # tiny.en hears the fox pangram differently run to run
PROMPT = "List three colours of the rainbow."




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


async def test_transcribe_espeak_sentence(jp_fetch: Fetch, audio_dir: Path) -> None:
    await wait_ready(jp_fetch)
    wav = speak(SENTENCE, "en", audio_dir)
    response = await jp_fetch(
        "neira",
        "api",
        "transcribe",
        method="POST",
        body=wav.read_bytes(),
        headers={"Content-Type": "audio/wav"},
        params={"correct": "false", "language": "en"},
    )
    document = json.loads(response.body)
    assert jiwer.wer(words(SENTENCE), words(document["raw"])) < 0.3
    assert document["text"] == document["raw"]
    assert document["correction"] is None
    assert document["segments"][0]["start"] >= 0
    assert document["language"] == "en"
    assert document["timings"]["transcribe_ms"] > 0
    assert document["timings"]["decode_ms"] > 0


async def test_transcribe_multipart_with_correction(jp_fetch: Fetch, audio_dir: Path) -> None:
    await wait_ready(jp_fetch)
    wav = speak(SENTENCE, "en", audio_dir)
    boundary = "neiraboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="language"\r\n\r\nen\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        ).encode()
        + wav.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = await jp_fetch(
        "neira",
        "api",
        "transcribe",
        method="POST",
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        request_timeout=300,  # transcription and correction take long on a loaded 2-core machine
    )
    document = json.loads(response.body)
    assert jiwer.wer(words(SENTENCE), words(document["raw"])) < 0.3, document
    correction = document["correction"]
    assert correction["raw"] == document["raw"]
    assert correction["corrected"] == document["text"]
    assert isinstance(correction["degraded"], bool)
    if correction["degraded"]:
        assert correction["reason"]
        assert document["text"] == document["raw"]


async def test_correct_returns_raw_and_corrected(jp_fetch: Fetch) -> None:
    await wait_ready(jp_fetch)
    raw = "hello how are you today i am fine thank you"
    body = {"text": raw, "language": "en"}
    response = await post_json(jp_fetch, "correct", body, request_timeout=300)
    document = json.loads(response.body)
    assert document["raw"] == raw
    assert isinstance(document["corrected"], str) and document["corrected"]
    assert document["language"] == "en"
    assert document["degraded"] is False, document["reason"]
    assert document["model"] == DEMO_LLM_NAME
    # the demo LLM restores casing and punctuation and keeps the words
    assert document["corrected"][0] == "H" and document["corrected"][-1] in ".!?"
    assert words(document["corrected"]).split() == raw.split()


@pytest.mark.parametrize("neira_config", [{"llm_enabled": False}])
async def test_correct_without_llm_is_degraded(jp_fetch: Fetch) -> None:
    raw = "привет как дела"
    response = await post_json(jp_fetch, "correct", {"text": raw, "language": "ru"})
    document = json.loads(response.body)
    assert document == {**document, "raw": raw, "corrected": raw, "degraded": True}
    assert "disabled" in document["reason"]
    with pytest.raises(HTTPClientError) as error:
        await post_json(jp_fetch, "generate", {"prompt": "hi"})
    assert error.value.code == 503
    assert "disabled" in json.loads(error.value.response.body)["message"]


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
        message = json.loads(error.value.response.body)["message"]
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
    assert "limit" in json.loads(error.value.response.body)["message"]
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
    assert error.value.response.headers["Retry-After"] == "3"
    assert "queue is full" in json.loads(error.value.response.body)["message"]
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
        assert "context" in json.loads(error.value.response.body)["message"]
    status = await get_status(jp_fetch)
    assert status["route"]["backend"] == "primary"
    short = {"prompt": "hi", "max_tokens": 2, "stream": False}
    response = await post_json(jp_fetch, "generate", short)
    assert json.loads(response.body)["route"] == "primary"


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
