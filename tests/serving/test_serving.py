"""``serving``: protocol requests to engine calls and documents, driven without HTTP.

A real ``NeiraEngine`` with the demo LLM; no tornado, no server. The
documents the serving modules produce are checked against the protocol
models and OpenAI's vendored schemas, as the HTTP tests check the bytes.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from neira_jupyter.engine.config import build_engine_config
from neira_jupyter.engine.service import NeiraEngine
from neira_jupyter.engine.types import BadRequest
from neira_jupyter.protocol import GenerateRequest, parse
from neira_jupyter.protocol.openai import ChatCompletionRequest, CompletionRequest
from neira_jupyter.server.app import NeiraApp
from neira_jupyter.serving import RequestLimits, neira_events, open_completion, open_generation
from neira_jupyter.serving.errors import OpenAIRequestError
from neira_jupyter.serving.models import model_cards
from tests.support.openai_spec import check

REPO = Path(__file__).resolve().parents[2]
LIMITS = RequestLimits(
    max_body_bytes=1 << 20,
    max_audio_bytes=1 << 20,
    max_audio_seconds=60.0,
    max_prompt_chars=200,
    max_tokens=64,
    socket_ping_interval=0.0,
    socket_idle_timeout=0.0,
    max_sockets_per_user=0,
)


@contextlib.asynccontextmanager
async def demo_engine() -> AsyncIterator[NeiraEngine]:
    """A started engine with the demo models (loaded on first use)."""
    engine = NeiraEngine(build_engine_config(NeiraApp.option_defaults()))
    engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


def documents(items: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(item.to_json()) for item in items]


async def test_a_generation_streams_start_tokens_and_done() -> None:
    async with demo_engine() as engine:
        request = parse(
            GenerateRequest, {"prompt": "Say hello.", "max_tokens": 8, "temperature": 0}
        )
        generation = await open_generation(engine, "alice", request, LIMITS)
        try:
            events = documents([event async for event in neira_events(generation)])
        finally:
            await generation.aclose()
        kinds = [event["type"] for event in events]
        assert kinds[0] == "start" and kinds[-1] == "done", kinds
        assert set(kinds[1:-1]) <= {"token"} and len(kinds) > 2
        done = events[-1]
        assert done["request_id"] == events[0]["request_id"] == generation.request_id
        assert done["text"] == "".join(e["text"] for e in events if e["type"] == "token")
        assert done["route"] == "primary" and done["usage"]["completion_tokens"] >= 1


async def test_limits_refuse_before_anything_starts() -> None:
    async with demo_engine() as engine:
        long = parse(GenerateRequest, {"prompt": "x" * 201})
        with pytest.raises(BadRequest, match="the limit is 200"):
            await open_generation(engine, "alice", long, LIMITS)
        greedy = parse(GenerateRequest, {"prompt": "hi", "max_tokens": 65})
        with pytest.raises(BadRequest, match="max_tokens"):
            await open_generation(engine, "alice", greedy, LIMITS)
        assert engine.scheduler.jobs_of("alice") == []  # nothing was queued


async def test_a_chat_completion_stream_follows_openai() -> None:
    async with demo_engine() as engine:
        model = model_cards(engine)[0].id
        request = parse(
            ChatCompletionRequest,
            {
                "model": model,
                "messages": [{"role": "user", "content": "Say hello."}],
                "max_tokens": 8,
                "temperature": 0,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        )
        completion = await open_completion(engine, "alice", request, LIMITS)
        try:
            chunks = documents([chunk async for chunk in completion.chunks()])
        finally:
            await completion.aclose()
        for chunk in chunks:
            check("CreateChatCompletionStreamResponse", chunk)
        assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        assert chunks[-2]["choices"][0]["finish_reason"] in ("stop", "length")
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] >= 1
        assert {chunk["id"] for chunk in chunks} == {"chatcmpl-" + completion.generation.request_id}


async def test_a_text_completion_answers_whole() -> None:
    async with demo_engine() as engine:
        model = model_cards(engine)[0].id
        request = parse(
            CompletionRequest,
            {"model": model, "prompt": "Hello", "max_tokens": 4, "temperature": 0, "echo": True},
        )
        completion = await open_completion(engine, "alice", request, LIMITS)
        try:
            answer = json.loads(completion.answer.whole(await completion.whole()).to_json())
        finally:
            await completion.aclose()
        check("CreateCompletionResponse", answer)
        assert answer["choices"][0]["text"].startswith("Hello")
        assert answer["neira"]["request_id"] == completion.generation.request_id


async def test_an_unknown_or_wrong_model_is_refused_with_openai_fields() -> None:
    async with demo_engine() as engine:
        body = {"messages": [{"role": "user", "content": "hi"}]}
        unknown = parse(ChatCompletionRequest, {**body, "model": "gpt-4o"})
        with pytest.raises(OpenAIRequestError) as refused:
            await open_completion(engine, "alice", unknown, LIMITS)
        assert (refused.value.status, refused.value.param) == (404, "model")
        assert refused.value.code == "model_not_found"
        speech = parse(ChatCompletionRequest, {**body, "model": "whisper-1"})
        with pytest.raises(OpenAIRequestError) as wrong:
            await open_completion(engine, "alice", speech, LIMITS)
        assert (wrong.value.status, wrong.value.code) == (400, "wrong_kind")
        assert engine.scheduler.jobs_of("alice") == []  # nothing was queued


def test_serving_imports_no_http_framework() -> None:
    code = (
        "import sys, neira_jupyter.serving\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('tornado', 'jupyter_server')])\n"
    )
    env = {"PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "[]", out.stdout
