"""How ``neira/v1/`` samples: structured output, penalties, logit bias and logprobs.

A real jupyter server with the demo models and the official ``openai``
client in a worker thread, on the batch loop with several slots and with
one. A JSON schema or ``json_object`` answer always parses (at any
temperature, and through neira's own ``json_schema``), penalties and logit
bias change the greedy answer, and logprobs (chat and legacy) are sorted,
scored and the same streamed or not.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
from typing import Any

import jsonschema
import openai
import pytest
from openai import OpenAI
from openai.types.shared_params import ResponseFormatJSONSchema

from neira_jupyter.engine.models import DEMO_LLM_NAME
from tests.conftest import Fetch, wait_ready
from tests.support.neira_http import fetch_raw
from tests.support.openai_spec import check
from tests.support.prompts import COUNTING, MESSAGES


@pytest.fixture
def neira_config() -> dict[str, Any]:
    return {"max_jobs_per_user": 1, "max_audio_bytes": 1_000_000}


PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "languages": {"type": "array", "items": {"enum": ["python", "rust", "c"]}, "maxItems": 3},
    },
    "required": ["name", "age", "languages"],
    "additionalProperties": False,
}
ASK_PERSON: list[Any] = [
    {"role": "user", "content": "Describe a programmer named Ada, 36, who writes Python."}
]


@pytest.mark.parametrize(
    "neira_config",
    [{"max_jobs_per_user": 1}, {"max_jobs_per_user": 1, "llm_slots": 1}],
    ids=["slots", "one-slot"],
)
async def test_structured_output_always_parses(
    jp_fetch: Fetch, client: OpenAI, jp_http_port: int, jp_base_url: str, token: str
) -> None:
    await wait_ready(jp_fetch)
    schema_format: ResponseFormatJSONSchema = {
        "type": "json_schema",
        "json_schema": {"name": "person", "schema": PERSON},
    }
    for temperature in (0.0, 1.0):
        settings: dict[str, Any] = {
            "model": DEMO_LLM_NAME, "messages": ASK_PERSON, "max_tokens": 200,
            "temperature": temperature, "seed": 3,
        }  # fmt: skip
        whole = await asyncio.to_thread(
            functools.partial(
                client.chat.completions.create, **settings, response_format=schema_format
            )
        )
        assert whole.choices[0].finish_reason == "stop", whole.choices[0].message.content
        person = json.loads(whole.choices[0].message.content or "")
        jsonschema.validate(person, PERSON)

        def stream(s: dict[str, Any] = settings) -> list[Any]:
            return list(
                client.chat.completions.create(
                    **s, response_format={"type": "json_object"}, stream=True
                )
            )

        chunks = await asyncio.to_thread(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert isinstance(json.loads(text), dict), text

    # neira's own API takes the schema as json_schema
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = {"messages": ASK_PERSON, "json_schema": PERSON, "stream": False, "max_tokens": 200}
    raw = await fetch_raw(
        jp_http_port, jp_base_url, "neira/api/generate", "POST", json.dumps(body).encode(), headers
    )
    assert raw.code == 200, raw.body
    jsonschema.validate(json.loads(json.loads(raw.body)["text"]), PERSON)
    unfollowable_schema: dict[str, object] = {
        "type": "object",
        "properties": {"a": {"pattern": "(("}},
    }
    bad = {**body, "json_schema": unfollowable_schema}
    refused = await fetch_raw(
        jp_http_port, jp_base_url, "neira/api/generate", "POST", json.dumps(bad).encode(), headers
    )
    assert refused.code == 400 and b"json_schema" in refused.body, refused.body
    unfollowable: ResponseFormatJSONSchema = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": unfollowable_schema},
    }
    with pytest.raises(openai.BadRequestError) as error:
        await asyncio.to_thread(
            lambda: client.chat.completions.create(
                model=DEMO_LLM_NAME, messages=ASK_PERSON, response_format=unfollowable
            )
        )
    assert error.value.param == "response_format.json_schema.schema"


@pytest.mark.parametrize(
    "neira_config",
    [{"max_jobs_per_user": 1}, {"max_jobs_per_user": 1, "llm_slots": 1}],
    ids=["slots", "one-slot"],
)
async def test_penalties_and_logit_bias_change_the_answer(jp_fetch: Fetch, client: OpenAI) -> None:
    await wait_ready(jp_fetch)
    settings: dict[str, Any] = {
        "model": DEMO_LLM_NAME, "prompt": COUNTING, "max_tokens": 16, "temperature": 0,
    }  # fmt: skip

    def complete(**extra: Any) -> str:
        return client.completions.create(**settings, **extra).choices[0].text

    plain = await asyncio.to_thread(complete)
    # token 0 of Qwen2.5's vocabulary is "!": pushed up by 100, greedy decoding says nothing else
    assert await asyncio.to_thread(complete, logit_bias={"0": 100}) == "!" * 16
    assert await asyncio.to_thread(complete, frequency_penalty=0) == plain
    settings["prompt"] = "Write the word hello ten times, separated by spaces."
    repeated = await asyncio.to_thread(complete)
    assert repeated.lower().count("hello") >= 5, repeated
    penalised = await asyncio.to_thread(complete, frequency_penalty=2.0)
    assert penalised.lower().count("hello") < repeated.lower().count("hello"), penalised
    # greedy, the demo model repeats its haiku's first line; once each word has a penalty it
    # does not (a flat presence penalty of 2 is too weak against "hello" x 10)
    settings["prompt"] = "Write a haiku about the sea."
    haiku = await asyncio.to_thread(complete)
    assert haiku.count("Whispers") > 1, haiku
    assert await asyncio.to_thread(complete, presence_penalty=2.0) != haiku
    with pytest.raises(openai.BadRequestError) as error:
        await asyncio.to_thread(complete, logit_bias={"999999999": 1})
    assert error.value.param == "logit_bias"


async def test_logprobs_on_the_batched_path(
    jp_fetch: Fetch, client: OpenAI, token: str, jp_http_port: int, jp_base_url: str
) -> None:
    await wait_ready(jp_fetch)
    settings: dict[str, Any] = {
        "model": DEMO_LLM_NAME, "messages": MESSAGES, "max_tokens": 8, "temperature": 0,
        "logprobs": True, "top_logprobs": 3,
    }  # fmt: skip
    raw = await asyncio.to_thread(
        lambda: client.chat.completions.with_raw_response.create(**settings)
    )
    check("CreateChatCompletionResponse", raw.http_response.json())
    whole = raw.parse()
    [choice] = whole.choices
    assert choice.logprobs is not None and choice.logprobs.content
    content = choice.logprobs.content
    assert whole.usage is not None and len(content) == whole.usage.completion_tokens
    assert "".join(t.token for t in content) == choice.message.content
    for scored in content:
        assert scored.logprob <= 0 and bytes(scored.bytes or []).decode() == scored.token
        alternatives = scored.top_logprobs
        assert len(alternatives) == 3
        assert [a.logprob for a in alternatives] == sorted((a.logprob for a in alternatives),
                                                           reverse=True)  # fmt: skip
        assert sum(math.exp(a.logprob) for a in alternatives) <= 1 + 1e-6
        # greedy: the chosen token is the likeliest one
        assert alternatives[0].token == scored.token
        assert alternatives[0].logprob == pytest.approx(scored.logprob)

    chunks = await asyncio.to_thread(
        lambda: list(client.chat.completions.create(**settings, stream=True))
    )
    streamed = [t for c in chunks if c.choices and c.choices[0].logprobs
                for t in c.choices[0].logprobs.content or []]  # fmt: skip
    assert [t.token for t in streamed] == [t.token for t in content]
    # the same numbers but for float noise: llama.cpp's kernels differ with the batch's size
    # (the second request reads only the prompt's last token, the rest is in the cache)
    assert [t.logprob for t in streamed] == pytest.approx([t.logprob for t in content], abs=0.2)

    text = await asyncio.to_thread(
        lambda: client.completions.with_raw_response.create(
            model=DEMO_LLM_NAME, prompt=COUNTING, max_tokens=6, temperature=0, logprobs=2
        )
    )
    check("CreateCompletionResponse", text.http_response.json())
    [legacy] = text.parse().choices
    assert legacy.logprobs is not None and legacy.logprobs.tokens
    assert "".join(legacy.logprobs.tokens) == legacy.text
    offsets = legacy.logprobs.text_offset or []
    assert offsets[0] == 0 and offsets == sorted(offsets)
    tops = legacy.logprobs.top_logprobs
    assert tops is not None and len(tops) == len(legacy.logprobs.tokens)
    assert all(len(top) == 2 for top in tops)

    with pytest.raises(openai.BadRequestError) as error:
        await asyncio.to_thread(
            lambda: client.chat.completions.create(
                model=DEMO_LLM_NAME, messages=MESSAGES, top_logprobs=2
            )
        )
    assert error.value.param == "top_logprobs"


@pytest.mark.parametrize("neira_config", [{"llm_slots": 1}])
async def test_logprobs_and_choices_with_one_slot(jp_fetch: Fetch, client: OpenAI) -> None:
    """One slot is the same batch loop: logprobs, and n choices one after another."""
    await wait_ready(jp_fetch)
    answer = await asyncio.to_thread(
        lambda: client.chat.completions.create(
            model=DEMO_LLM_NAME, messages=MESSAGES, logprobs=True, top_logprobs=2, max_tokens=4,
            n=2, temperature=0,
        )
    )  # fmt: skip
    assert [c.index for c in answer.choices] == [0, 1]
    for choice in answer.choices:
        assert choice.logprobs is not None and choice.logprobs.content
        assert all(len(t.top_logprobs) == 2 for t in choice.logprobs.content)
    assert answer.choices[0].message.content == answer.choices[1].message.content  # greedy
