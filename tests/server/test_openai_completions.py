"""Models, chat and text completions through ``neira/v1/``, driven by the official ``openai``.

A real jupyter server with the demo models; the client is the one users
install, pointed at ``{base_url}neira/v1`` with the server's token as its API
key (the sync client runs in a worker thread, since the server shares this
test's event loop). The models are listed, answers stream in chunks that
join to the whole answer, stop strings, ``echo`` and ``n`` choices work, and
what comes over the wire validates against OpenAI's own response schemas
(``tests/support/openai_spec.py``), with fields that change nothing accepted.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest
from openai import OpenAI

from neira_jupyter.engine.models import (
    DEMO_EMBEDDING_NAME,
    DEMO_FALLBACK_NAME,
    DEMO_LLM_NAME,
    DEMO_SPEECH_NAME,
)
from tests.conftest import Fetch, wait_ready
from tests.support.neira_http import fetch_raw, sse_documents
from tests.support.openai_spec import check
from tests.support.prompts import COUNTING, MESSAGES


@pytest.fixture
def neira_config() -> dict[str, Any]:
    return {"max_jobs_per_user": 1, "max_audio_bytes": 1_000_000}


async def test_models_lists_the_configured_models(
    jp_fetch: Fetch, client: OpenAI
) -> None:
    await wait_ready(jp_fetch)
    models = await asyncio.to_thread(lambda: list(client.models.list()))
    ids = [m.id for m in models]
    assert ids == [
        DEMO_LLM_NAME, DEMO_FALLBACK_NAME, DEMO_SPEECH_NAME, "whisper-1", DEMO_EMBEDDING_NAME
    ]  # fmt: skip
    assert {m.owned_by for m in models} == {"neira"}
    listed = await asyncio.to_thread(client.models.with_raw_response.list)
    check("ListModelsResponse", listed.http_response.json())
    one = await asyncio.to_thread(client.models.retrieve, DEMO_SPEECH_NAME)
    assert one.id == DEMO_SPEECH_NAME
    with pytest.raises(openai.NotFoundError) as error:
        await asyncio.to_thread(client.models.retrieve, "gpt-4o")
    assert error.value.code == "model_not_found"


async def test_chat_stream_with_usage_joins_to_the_whole_answer(
    jp_fetch: Fetch, client: OpenAI
) -> None:
    await wait_ready(jp_fetch)
    settings: dict[str, Any] = {
        "model": DEMO_LLM_NAME,
        "messages": MESSAGES,
        "max_tokens": 12,
        "temperature": 0,
        "top_p": 0.9,
        "seed": 7,
    }
    whole = await asyncio.to_thread(lambda: client.chat.completions.create(**settings))
    assert whole.id.startswith("chatcmpl-")
    assert whole.object == "chat.completion"
    assert whole.model == DEMO_LLM_NAME
    [choice] = whole.choices
    assert choice.message.role == "assistant"
    assert choice.message.content and choice.message.content.strip()
    assert choice.finish_reason in {"stop", "length"}
    assert whole.usage is not None
    assert 1 <= whole.usage.completion_tokens <= 12
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens

    def stream() -> list[Any]:
        chunks = client.chat.completions.create(
            **settings, stream=True, stream_options={"include_usage": True}
        )
        return list(chunks)

    chunks = await asyncio.to_thread(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    assert text == choice.message.content  # greedy: the same tokens either way
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == choice.finish_reason and not any(finishes[:-1])
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens == whole.usage.completion_tokens


async def test_stop_strings_and_text_completions(
    jp_fetch: Fetch, client: OpenAI, jp_http_port: int, jp_base_url: str
) -> None:
    await wait_ready(jp_fetch)
    settings: dict[str, Any] = {"model": DEMO_LLM_NAME, "max_tokens": 16, "temperature": 0}
    counted = await asyncio.to_thread(
        lambda: client.completions.create(prompt=COUNTING, **settings)
    )
    assert counted.object == "text_completion"
    text = counted.choices[0].text
    assert len(text) >= 6, text
    # greedy decoding repeats itself: a stop string from the middle of the answer cuts it there
    stop = text[len(text) // 2 :][:3]
    expected = text[: text.index(stop)]
    stopped = await asyncio.to_thread(
        lambda: client.completions.create(prompt=[COUNTING], stop=stop, **settings)
    )
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.choices[0].text == expected

    def stream() -> list[Any]:
        return list(
            client.completions.create(prompt=COUNTING, stop=[stop, "zzz"], stream=True, **settings)
        )

    chunks = await asyncio.to_thread(stream)
    assert "".join(c.choices[0].text for c in chunks) == stopped.choices[0].text
    assert chunks[-1].choices[0].finish_reason == "stop"

    # the wire itself, as curl sees it: SSE data lines, the last one [DONE]
    raw = await fetch_raw(
        jp_http_port,
        jp_base_url,
        "neira/v1/completions",
        "POST",
        json.dumps({"prompt": COUNTING, "stop": stop, "stream": True, **settings}).encode(),
        {"Authorization": f"Bearer {client.api_key}", "Content-Type": "application/json"},
    )
    assert raw.headers["Content-Type"].startswith("text/event-stream")
    events = [e for e in raw.body.decode().split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    texts = [json.loads(e[6:])["choices"][0]["text"] for e in events[:-1]]
    assert "".join(texts) == expected


async def test_answers_validate_against_the_spec_and_no_op_fields_are_accepted(
    jp_fetch: Fetch, client: OpenAI, token: str, jp_http_port: int, jp_base_url: str
) -> None:
    await wait_ready(jp_fetch)
    no_ops: dict[str, Any] = {
        "store": False,
        "metadata": {"cell": "7"},
        "service_tier": "auto",
        "parallel_tool_calls": True,
        "response_format": {"type": "text"},
        "tool_choice": "none",
        "user": "ada",
    }
    settings: dict[str, Any] = {"max_tokens": 6, "temperature": 0}
    plain = await asyncio.to_thread(
        lambda: client.chat.completions.create(model=DEMO_LLM_NAME, messages=MESSAGES, **settings)
    )
    busy = await asyncio.to_thread(
        lambda: client.chat.completions.with_raw_response.create(
            model=DEMO_LLM_NAME, messages=MESSAGES, **settings, **no_ops
        )
    )
    whole = busy.http_response.json()
    check("CreateChatCompletionResponse", whole)
    assert whole["choices"][0]["message"]["content"] == plain.choices[0].message.content
    assert busy.parse().choices[0].message.refusal is None

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for route, body, schema in (
        ("chat/completions", {"messages": MESSAGES}, "CreateChatCompletionStreamResponse"),
        ("completions", {"prompt": COUNTING}, "CreateCompletionResponse"),
    ):
        for stream in (False, True):
            request = {"model": DEMO_LLM_NAME, **settings, **body, "stream": stream}
            if stream:
                request["stream_options"] = {"include_usage": True}
            raw = await fetch_raw(
                jp_http_port, jp_base_url, f"neira/v1/{route}", "POST",
                json.dumps(request).encode(), headers,
            )  # fmt: skip
            assert raw.code == 200, raw.body
            if not stream:
                name = schema.replace("StreamResponse", "Response")
                check(name, json.loads(raw.body))
                continue
            chunks = sse_documents(raw.body)
            assert len(chunks) >= 3
            for chunk in chunks[:-1]:
                for choice in chunk["choices"]:  # null until the end, as OpenAI streams it
                    if route == "completions" and choice["finish_reason"] is None:
                        choice["finish_reason"] = "stop"
            for chunk in chunks:
                check(schema, chunk)
    error = await fetch_raw(
        jp_http_port, jp_base_url, "neira/v1/chat/completions", "POST",
        json.dumps({"model": DEMO_LLM_NAME, "messages": MESSAGES, "tools": [{}]}).encode(),
        headers,
    )  # fmt: skip
    assert error.code == 400
    check("ErrorResponse", json.loads(error.body))
    assert json.loads(error.body)["error"]["param"] == "tools[0].type"


async def test_echo_begins_the_text_with_the_prompt(jp_fetch: Fetch, client: OpenAI) -> None:
    await wait_ready(jp_fetch)
    settings: dict[str, Any] = {
        "model": DEMO_LLM_NAME, "prompt": COUNTING, "max_tokens": 6, "temperature": 0,
    }  # fmt: skip
    plain = await asyncio.to_thread(lambda: client.completions.create(**settings))
    echoed = await asyncio.to_thread(lambda: client.completions.create(**settings, echo=True))
    assert echoed.choices[0].text == COUNTING + plain.choices[0].text
    chunks = await asyncio.to_thread(
        lambda: list(client.completions.create(**settings, echo=True, stream=True))
    )
    assert chunks[0].choices[0].text == COUNTING
    assert "".join(c.choices[0].text for c in chunks) == echoed.choices[0].text


async def test_n_choices_on_the_batched_path(jp_fetch: Fetch, client: OpenAI) -> None:
    await wait_ready(jp_fetch)
    settings: dict[str, Any] = {"model": DEMO_LLM_NAME, "messages": MESSAGES, "max_tokens": 12}
    raw = await asyncio.to_thread(
        lambda: client.chat.completions.with_raw_response.create(
            **settings, n=3, temperature=1.2, seed=11
        )
    )
    check("CreateChatCompletionResponse", raw.http_response.json())
    varied = raw.parse()
    assert [c.index for c in varied.choices] == [0, 1, 2]
    texts = [c.message.content for c in varied.choices]
    assert all(texts) and len(set(texts)) > 1, texts  # seeds 11, 12, 13: different answers
    assert varied.usage is not None and varied.usage.completion_tokens >= 3

    greedy = await asyncio.to_thread(
        lambda: client.chat.completions.create(**settings, n=2, temperature=0)
    )
    chunks = await asyncio.to_thread(
        lambda: list(client.chat.completions.create(**settings, n=2, temperature=0, stream=True))
    )
    joined = {0: "", 1: ""}
    for chunk in chunks:
        for choice in chunk.choices:
            joined[choice.index] += choice.delta.content or ""
    assert [joined[0], joined[1]] == [c.message.content for c in greedy.choices]
    assert {c.choices[0].delta.role for c in chunks[:2]} == {"assistant"}
    last = chunks[-1].choices
    assert [c.index for c in last] == [0, 1] and all(c.finish_reason for c in last)

    text = await asyncio.to_thread(
        lambda: client.completions.create(
            model=DEMO_LLM_NAME, prompt=COUNTING, max_tokens=4, temperature=0, n=2, echo=True
        )
    )
    assert len(text.choices) == 2
    assert all(c.text.startswith(COUNTING) for c in text.choices)
    with pytest.raises(openai.BadRequestError) as error:
        await asyncio.to_thread(lambda: client.chat.completions.create(**settings, n=17))
    assert error.value.param == "n"
