"""``neira/v1/responses`` (OpenAI's Responses API) driven by the official ``openai`` client.

A real jupyter server with the demo models. A response comes whole or
streamed (every event checked against the spec's schema, in the spec's
order, and read back by the client's own stream accumulator); a function
tool round trip works by sending the items back and by
``previous_response_id``; a JSON schema is followed; stored responses can
be read and deleted, and are never visible to another user.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
import openai
import pytest
from openai import OpenAI

from neira_jupyter.engine.models import DEMO_LLM_NAME
from tests.conftest import Fetch, wait_ready
from tests.support.neira_http import fetch_raw
from tests.support.openai_spec import check

WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
EVENT_SCHEMAS = {
    "response.created": "ResponseCreatedEvent",
    "response.in_progress": "ResponseInProgressEvent",
    "response.output_item.added": "ResponseOutputItemAddedEvent",
    "response.content_part.added": "ResponseContentPartAddedEvent",
    "response.output_text.delta": "ResponseTextDeltaEvent",
    "response.output_text.done": "ResponseTextDoneEvent",
    "response.content_part.done": "ResponseContentPartDoneEvent",
    "response.output_item.done": "ResponseOutputItemDoneEvent",
    "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
    "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
    "response.completed": "ResponseCompletedEvent",
    "response.incomplete": "ResponseIncompleteEvent",
    "response.failed": "ResponseFailedEvent",
}


def create(client: OpenAI, **fields: Any) -> Any:
    """``client.responses.create`` with fields built at run time (mypy cannot match them
    to the client's overloads)."""
    responses: Any = client.responses
    return responses.create(**fields)


@pytest.fixture
def neira_config() -> dict[str, Any]:
    return {"max_jobs_per_user": 1}


async def raw_events(
    port: int, base_url: str, token: str, body: dict[str, Any]
) -> list[dict[str, Any]]:
    """The SSE events of a streamed response, each checked against the spec's schema."""
    response = await fetch_raw(
        port,
        base_url,
        "neira/v1/responses",
        "POST",
        json.dumps({**body, "stream": True}).encode(),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.code == 200, response.body[:500]
    events = []
    for block in response.body.decode().split("\n\n"):
        if not block:
            continue
        name, data = block.split("\n")
        event = json.loads(data.removeprefix("data: "))
        assert name == f"event: {event['type']}"
        check(EVENT_SCHEMAS[event["type"]], event)
        events.append(event)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


async def test_plain_and_streamed(
    jp_fetch: Fetch, client: OpenAI, token: str, jp_http_port: int, jp_base_url: str
) -> None:
    await wait_ready(jp_fetch)
    ask: dict[str, Any] = {
        "model": DEMO_LLM_NAME,
        "instructions": "You answer in one short sentence.",
        "input": "Name a colour of the rainbow.",
        "max_output_tokens": 32,
        "temperature": 0,
    }
    raw = await asyncio.to_thread(lambda: client.responses.with_raw_response.create(**ask))
    check("Response", raw.http_response.json())
    whole = raw.parse()
    assert whole.status == "completed" and whole.output_text.strip()
    assert whole.usage is not None and whole.usage.output_tokens > 0
    assert whole.output[0].type == "message"

    events = await raw_events(jp_http_port, jp_base_url, token, ask)
    kinds = [e["type"] for e in events]
    deltas = kinds.count("response.output_text.delta")
    assert kinds == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added", *["response.output_text.delta"] * deltas,
        "response.output_text.done", "response.content_part.done",
        "response.output_item.done", "response.completed",
    ]  # fmt: skip
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == whole.output_text  # greedy: the same answer streamed or not
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == text

    def accumulate() -> Any:
        with client.responses.stream(**ask) as stream:
            return stream.get_final_response()

    final = await asyncio.to_thread(accumulate)
    assert final.output_text == whole.output_text

    cut = await asyncio.to_thread(
        lambda: client.responses.create(
            **{**ask, "input": "Count to fifty.", "max_output_tokens": 3}
        )
    )
    assert cut.status == "incomplete" and cut.incomplete_details is not None
    assert cut.incomplete_details.reason == "max_output_tokens"


async def test_function_tool_round_trip(
    jp_fetch: Fetch, client: OpenAI, token: str, jp_http_port: int, jp_base_url: str
) -> None:
    await wait_ready(jp_fetch)
    question: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
    ask: dict[str, Any] = {
        "model": DEMO_LLM_NAME,
        "input": question,
        "tools": [WEATHER],
        "tool_choice": "required",
        "temperature": 0,
    }
    called = await asyncio.to_thread(lambda: client.responses.create(**ask))
    calls = [item for item in called.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert "paris" in json.loads(calls[0].arguments)["city"].lower()
    result = {"type": "function_call_output", "call_id": calls[0].call_id, "output": "Sunny, 21 C"}

    def answer(**fields: Any) -> Any:
        return client.responses.create(
            model=DEMO_LLM_NAME, tools=[WEATHER], max_output_tokens=48, temperature=0, **fields
        )

    sent_back = [
        *question,
        *(item.model_dump(exclude_none=True, by_alias=True) for item in called.output),
        result,
    ]
    resent = await asyncio.to_thread(answer, input=sent_back)
    continued = await asyncio.to_thread(answer, input=[result], previous_response_id=called.id)
    assert resent.output_text.strip()
    assert continued.output_text == resent.output_text  # the same conversation, stored
    assert continued.previous_response_id == called.id

    events = await raw_events(jp_http_port, jp_base_url, token, ask)
    kinds = [e["type"] for e in events]
    assert kinds == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.function_call_arguments.delta", "response.function_call_arguments.done",
        "response.output_item.done", "response.completed",
    ]  # fmt: skip
    assert events[4]["arguments"] == calls[0].arguments


async def test_json_schema_is_followed(jp_fetch: Fetch, client: OpenAI) -> None:
    await wait_ready(jp_fetch)
    fmt = {"type": "json_schema", "name": "person", "schema": PERSON, "strict": True}
    for temperature in (0.0, 1.0):
        answer = await asyncio.to_thread(
            create,
            client,
            model=DEMO_LLM_NAME,
            input="Describe Ada, 36, who writes Python.",
            text={"format": fmt},
            max_output_tokens=96,
            temperature=temperature,
        )
        assert answer.status == "completed"
        jsonschema.validate(json.loads(answer.output_text), PERSON)
    with pytest.raises(openai.BadRequestError) as refused:
        await asyncio.to_thread(
            create,
            client,
            model=DEMO_LLM_NAME,
            input="x",
            text={"format": {**fmt, "schema": {"type": "string", "pattern": "a"}}},
        )
    assert refused.value.param == "text.format.schema"


async def test_stored_responses_get_delete_and_refusals(jp_fetch: Fetch, client: OpenAI) -> None:
    await wait_ready(jp_fetch)
    ask: dict[str, Any] = {"model": DEMO_LLM_NAME, "input": "Say hi.", "max_output_tokens": 8}
    stored = await asyncio.to_thread(create, client, **ask)
    again = await asyncio.to_thread(lambda: client.responses.retrieve(stored.id))
    assert again.model_dump() == stored.model_dump()
    await asyncio.to_thread(lambda: client.responses.delete(stored.id))
    unstored = await asyncio.to_thread(create, client, **ask, store=False)
    for gone in (stored.id, unstored.id):
        with pytest.raises(openai.NotFoundError):
            await asyncio.to_thread(client.responses.retrieve, gone)
    with pytest.raises(openai.NotFoundError) as missing:
        await asyncio.to_thread(create, client, **ask, previous_response_id=stored.id)
    assert missing.value.param == "previous_response_id"
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"truncation": "auto"}, "truncation"),
        ({"background": True}, "background"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
         "input[0].message.content[0].type"),
        ({"input": [{"type": "reasoning", "id": "r", "summary": []}]}, "input[0].type"),
        ({"reasoning": {"effort": "high"}}, "reasoning.effort"),
        ({"tool_choice": "required"}, "tool_choice"),
    ]  # fmt: skip
    for fields, param in refusals:
        with pytest.raises(openai.BadRequestError) as refused:
            await asyncio.to_thread(create, client, **{**ask, **fields})
        assert refused.value.param == param, refused.value.body


@pytest.mark.parametrize("neira_config", [{"isolate_users": True}])
async def test_a_response_is_never_another_users(
    jp_fetch: Fetch, client: OpenAI, v1_url: str, token: str
) -> None:
    """With isolate_users, a client without the first one's login cookie is another
    (anonymous) user: it can neither read, delete nor continue the first one's response."""
    await wait_ready(jp_fetch)
    mine = await asyncio.to_thread(
        lambda: client.responses.create(model=DEMO_LLM_NAME, input="Say hi.", max_output_tokens=4)
    )
    assert (await asyncio.to_thread(lambda: client.responses.retrieve(mine.id))).id == mine.id
    with OpenAI(base_url=v1_url, api_key=token, max_retries=0) as other:
        with pytest.raises(openai.NotFoundError):
            await asyncio.to_thread(lambda: other.responses.retrieve(mine.id))
        with pytest.raises(openai.NotFoundError):
            await asyncio.to_thread(lambda: other.responses.delete(mine.id))
        with pytest.raises(openai.NotFoundError):
            await asyncio.to_thread(
                lambda: other.responses.create(
                    model=DEMO_LLM_NAME, input="Go on.", previous_response_id=mine.id
                )
            )
    assert (await asyncio.to_thread(lambda: client.responses.retrieve(mine.id))).id == mine.id
