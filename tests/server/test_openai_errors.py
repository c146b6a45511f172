"""Errors of ``neira/v1/`` in OpenAI's shape, as the official ``openai`` client reads them.

A real jupyter server with the demo models; ``max_jobs_per_user`` is 1
here, so a second request while one runs is a deterministic 429. Bad
requests are 400s naming the ``param``, unknown models 404s, a missing key
a 401 with ``WWW-Authenticate`` on every route (an unknown one too), too big an upload a 413 and
JSON nested too deep a 400; a client that leaves mid-stream cancels its
job.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from neira_jupyter.engine.models import DEMO_LLM_NAME, DEMO_SPEECH_NAME
from neira_jupyter.server.routes import OPENAI_HANDLERS
from tests.conftest import Fetch, get_status, wait_ready
from tests.support.neira_http import fetch_raw
from tests.support.prompts import COUNTING, MESSAGES

ERROR_KEYS = {"message", "type", "param", "code"}
V1_ROUTES = [
    ("GET", "models"),
    ("GET", "models/x"),
    ("POST", "chat/completions"),
    ("POST", "completions"),
    ("POST", "audio/transcriptions"),
    ("POST", "responses"),
    ("GET", "responses/x"),
    ("POST", "embeddings"),
]


@pytest.fixture
def neira_config() -> dict[str, Any]:
    return {"max_jobs_per_user": 1, "max_audio_bytes": 1_000_000}


async def test_errors_have_openai_shape(
    jp_fetch: Fetch, client: OpenAI, v1_url: str, jp_http_port: int, jp_base_url: str
) -> None:
    await wait_ready(jp_fetch)
    chat: dict[str, Any] = {"model": DEMO_LLM_NAME, "messages": MESSAGES}
    cases: list[tuple[dict[str, Any], type[openai.APIStatusError], str | None]] = [
        ({"model": DEMO_LLM_NAME, "messages": []}, openai.BadRequestError, "messages"),
        ({**chat, "n": 17}, openai.BadRequestError, "n"),
        ({**chat, "max_tokens": 0}, openai.BadRequestError, "max_tokens"),
        ({**chat, "stop": ["a"] * 9}, openai.BadRequestError, "stop"),
        ({**chat, "presence_penalty": 5}, openai.BadRequestError, "presence_penalty"),
        ({"model": DEMO_SPEECH_NAME, "messages": MESSAGES}, openai.BadRequestError, "model"),
        ({"model": "/etc/passwd", "messages": MESSAGES}, openai.NotFoundError, "model"),
        ({"model": "gpt-4o", "messages": MESSAGES}, openai.NotFoundError, "model"),
    ]
    for body, kind, param in cases:
        with pytest.raises(kind) as error:
            await asyncio.to_thread(functools.partial(client.chat.completions.create, **body))
        assert error.value.param == param, (body, error.value.body)
        assert isinstance(error.value.body, dict) and set(error.value.body) == ERROR_KEYS
        assert error.value.body["message"]
    assert error.value.code == "model_not_found"

    stranger = OpenAI(base_url=v1_url, api_key="not-the-token", max_retries=0)
    with stranger, pytest.raises(openai.AuthenticationError) as denied:
        await asyncio.to_thread(lambda: list(stranger.models.list()))
    assert denied.value.status_code == 401
    assert denied.value.type == "authentication_error"

    assert {p.replace("([^/]+)", "x") for p in OPENAI_HANDLERS} == {p for _, p in V1_ROUTES}
    for method, path in V1_ROUTES:
        empty = b"{}" if method == "POST" else None
        response = await fetch_raw(jp_http_port, jp_base_url, f"neira/v1/{path}", method, empty)
        assert response.code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert json.loads(response.body)["error"]["type"] == "authentication_error"
    for method, path in [("GET", "no/such/route"), ("POST", "images/generations"), ("DELETE", "x")]:
        empty = b"{}" if method == "POST" else None
        response = await fetch_raw(jp_http_port, jp_base_url, f"neira/v1/{path}", method, empty)
        assert response.code == 401, path  # an unknown route tells a stranger nothing more
        assert json.loads(response.body)["error"]["type"] == "authentication_error"

    big = await fetch_raw(
        jp_http_port,
        jp_base_url,
        "neira/v1/audio/transcriptions",
        "POST",
        b"x" * 1_100_000,
        {"Authorization": f"Bearer {client.api_key}", "Content-Type": "audio/wav"},
    )
    assert big.code == 413
    assert json.loads(big.body)["error"]["code"] == "request_too_large"


async def test_disconnect_cancels_and_a_second_job_gets_429(
    jp_fetch: Fetch, client: OpenAI, v1_url: str, token: str
) -> None:
    await wait_ready(jp_fetch)
    async with AsyncOpenAI(base_url=v1_url, api_key=token, max_retries=0) as async_client:
        stream = await async_client.chat.completions.create(
            model=DEMO_LLM_NAME,
            messages=[{"role": "user", "content": COUNTING}],
            max_tokens=1500,
            temperature=0,
            stream=True,
        )
        chunks: list[Any] = []
        async for chunk in stream:
            chunks.append(chunk)
            if len(chunks) == 4:
                break
        request_id = chunks[-1].id.removeprefix("chatcmpl-")
        status = await get_status(jp_fetch)
        assert request_id in status["queue"]["running_ids"]

        with pytest.raises(openai.RateLimitError) as limited:  # max_jobs_per_user is 1
            await asyncio.to_thread(
                lambda: client.chat.completions.create(model=DEMO_LLM_NAME, messages=MESSAGES)
            )
        assert limited.value.response.headers["Retry-After"].isdigit()
        assert limited.value.code == "rate_limit_exceeded"

        await stream.close()  # the client leaves mid-stream
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:
        queue = (await get_status(jp_fetch))["queue"]
        if queue["running"] == 0 and queue["depth"] == 0:
            break
        assert loop.time() < deadline, f"the job kept running after the client left: {queue}"
        await asyncio.sleep(0.1)
    assert request_id not in queue["running_ids"]


async def test_json_nested_1000_deep_is_a_400(
    jp_fetch: Fetch, token: str, jp_http_port: int, jp_base_url: str
) -> None:
    await get_status(jp_fetch)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = ('{"model": "x", "messages": ' + "[" * 1000 + "]" * 1000 + "}",
              "[" * 100_000 + "]" * 100_000)  # fmt: skip
    for path in ("api/generate", "api/correct", "v1/chat/completions", "v1/completions"):
        for body in bodies:
            response = await fetch_raw(
                jp_http_port, jp_base_url, f"neira/{path}", "POST", body.encode(), headers
            )
            assert response.code == 400, (path, response.body[:300])
            assert b"levels deep" in response.body
