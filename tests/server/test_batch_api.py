"""Continuous batching through the real server: concurrent streams, 400s, correction not stuck."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.conftest import Fetch, get_status, wait_ready
from tests.support.models import qwen_path
from tests.support.neira_http import error_message, stream_generate

SLOTS = 8
SLOT_CTX = 512


@pytest.fixture
def neira_config() -> dict[str, Any]:
    return {
        "primary_path": str(qwen_path()),
        "primary_model": "qwen-batch",
        "primary_context": SLOT_CTX,
        "llm_slots": SLOTS,
    }


def primary(status: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in status["models"] if m["role"] == "primary")


async def test_eight_concurrent_streams_each_get_their_own_usage(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> None:
    await wait_ready(jp_fetch)
    bodies = [
        {
            "prompt": "Name a colour." + " Please answer." * i,
            "max_tokens": 3 + i,
            "temperature": 0,
        }
        for i in range(SLOTS)
    ]
    streams = await asyncio.gather(
        *(stream_generate(jp_http_port, jp_base_url, jp_auth_header, b) for b in bodies)
    )
    prompt_tokens = []
    for body, (response, stream) in zip(bodies, streams, strict=True):
        assert response.code == 200
        done = stream.done()
        assert "".join(stream.tokens()) == done["text"]
        n = done["usage"]["completion_tokens"]
        assert 0 < n <= body["max_tokens"]
        assert done["finish_reason"] == ("length" if n == body["max_tokens"] else "stop")
        assert done["model"] == "qwen-batch"
        prompt_tokens.append(done["usage"]["prompt_tokens"])
    assert prompt_tokens == sorted(prompt_tokens) and len(set(prompt_tokens)) == SLOTS
    # one lane thread admits the eight into the batch loop; no thread per slot relays tokens
    lane = [t.name for t in threading.enumerate() if t.name.startswith("neira-qwen-batch-")]
    assert lane == ["neira-qwen-batch-0"]
    status = await get_status(jp_fetch)
    batch = primary(status)["batch"]
    assert batch["slots"] == SLOTS and batch["running"] == 0
    assert batch["kv_capacity_tokens"] == SLOTS * SLOT_CTX
    assert batch["tokens_per_second_1m"] > 0
    assert status["queue"]["running"] == 0


async def test_a_prompt_longer_than_a_slot_is_a_400(jp_fetch: Fetch) -> None:
    await wait_ready(jp_fetch)
    too_long = {"prompt": "word " * 700, "max_tokens": 4, "stream": False}
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("neira", "api", "generate", method="POST", body=json.dumps(too_long))
    assert error.value.code == 400
    assert "context" in error_message(error.value)


async def test_a_correction_is_not_stuck_behind_a_long_generation(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> None:
    await wait_ready(jp_fetch)
    first_token = asyncio.Event()

    def on_event(event: dict[str, Any]) -> None:
        if event["type"] == "token":
            first_token.set()

    long = {
        "prompt": "Count from 1 to 1000, one number per line.",
        "max_tokens": 1000,
        "temperature": 0,
        "request_id": "long-answer",
    }
    generation = asyncio.ensure_future(
        stream_generate(jp_http_port, jp_base_url, jp_auth_header, long, on_event)
    )
    await asyncio.wait_for(first_token.wait(), 300)
    raw = "hello how are you today"
    body = json.dumps({"text": raw, "language": "en"})
    # a generous timeout: on a loaded 2-core machine the batch runs slowly
    response = await jp_fetch(
        "neira", "api", "correct", method="POST", body=body, request_timeout=300
    )
    correction = json.loads(response.body)
    assert not generation.done()  # the long answer is still streaming
    assert correction["raw"] == raw
    assert correction["degraded"] is False, correction
    assert correction["model"] == "qwen-batch"
    await jp_fetch("neira", "api", "requests", "long-answer", method="DELETE")
    _, stream = await generation
    assert stream.done()["finish_reason"] == "cancelled"
