"""Tool calling through ``neira/v1/`` and ``api/generate``, on a real server with the demo models.

The official ``openai`` client and LangChain's ``ChatOpenAI`` offer Python
functions to the demo Qwen2.5-Coder-0.5B; its chat template defines Hermes'
``<tool_call>``. What comes over the wire (answers and stream chunks) is
validated against OpenAI's own response schemas.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

import jsonschema
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from openai import OpenAI

from neira_jupyter.engine.models import DEMO_FALLBACK_NAME, DEMO_LLM_NAME
from tests.conftest import Fetch, wait_ready
from tests.support.neira_http import fetch_raw, sse_documents
from tests.support.openai_spec import check

WEATHER_ARGS = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}},
    "required": ["city", "unit"],
}
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather in a city.",
            "parameters": WEATHER_ARGS,
        },
    },
    {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two integers.",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
        },
    },
]
ASK_WEATHER: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]


def _chat(client: OpenAI, **settings: Any) -> Any:
    """A raw chat completion (the JSON as sent, to check against the spec) and its parse."""
    body = {"model": DEMO_LLM_NAME, "temperature": 0, "max_tokens": 120, **settings}
    raw = client.chat.completions.with_raw_response.create(**body)
    return raw.http_response.json(), raw.parse()


@pytest.mark.parametrize(
    "neira_config", [{}, {"llm_slots": 1}], ids=["slots", "one-slot"]
)
async def test_a_forced_call_follows_the_schema(jp_fetch: Fetch, client: OpenAI) -> None:
    await wait_ready(jp_fetch)
    named = {"type": "function", "function": {"name": "get_weather"}}
    whole, parsed = await asyncio.to_thread(
        _chat, client, messages=ASK_WEATHER, tools=TOOLS, tool_choice=named, temperature=1.0
    )
    check("CreateChatCompletionResponse", whole)
    choice = parsed.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None and "tool_calls" in whole["choices"][0]["message"]
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather"
    jsonschema.validate(json.loads(call.function.arguments), WEATHER_ARGS)
    assert len(call.id) == 9 and call.id.isalnum()  # what Mistral's templates require

    # required: a call of any offered function
    whole, parsed = await asyncio.to_thread(
        _chat, client, messages=ASK_WEATHER, tools=TOOLS, tool_choice="required"
    )
    check("CreateChatCompletionResponse", whole)
    [call] = parsed.choices[0].message.tool_calls
    assert call.function.name in ("get_weather", "add")


async def test_auto_calls_and_streams_the_call_in_one_chunk(
    jp_fetch: Fetch, client: OpenAI, jp_http_port: int, jp_base_url: str, token: str
) -> None:
    await wait_ready(jp_fetch)
    whole, parsed = await asyncio.to_thread(_chat, client, messages=ASK_WEATHER, tools=TOOLS)
    check("CreateChatCompletionResponse", whole)
    [call] = parsed.choices[0].message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments)["city"] == "Paris"

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = {"model": DEMO_LLM_NAME, "messages": ASK_WEATHER, "tools": TOOLS, "stream": True,
            "temperature": 0, "max_tokens": 120}  # fmt: skip
    raw = await fetch_raw(
        jp_http_port, jp_base_url, "neira/v1/chat/completions", "POST",
        json.dumps(body).encode(), headers,
    )  # fmt: skip
    assert raw.code == 200, raw.body
    chunks = sse_documents(raw.body)
    for chunk in chunks:
        check("CreateChatCompletionStreamResponse", chunk)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert not any(d.get("content") for d in deltas)  # the call's text is not streamed
    [streamed] = [d["tool_calls"] for d in deltas if "tool_calls" in d]
    assert streamed[0]["function"] == {"name": "get_weather", "arguments": call.function.arguments}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"

    # with tool_choice none the same question is answered in words, streamed as usual
    words = await asyncio.to_thread(
        _chat, client, messages=ASK_WEATHER, tools=TOOLS, tool_choice="none"
    )
    assert words[1].choices[0].message.tool_calls is None
    assert words[1].choices[0].message.content


async def test_a_tool_result_goes_back_and_the_model_answers(
    jp_fetch: Fetch, client: OpenAI
) -> None:
    await wait_ready(jp_fetch)
    ask = [{"role": "user", "content": "What is 2 plus 3? Use the add tool."}]
    add = {"type": "function", "function": {"name": "add"}}
    _, first = await asyncio.to_thread(_chat, client, messages=ask, tools=TOOLS, tool_choice=add)
    [call] = first.choices[0].message.tool_calls
    arguments = json.loads(call.function.arguments)
    history = [
        *ask,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": str(arguments["a"] + arguments["b"])},
    ]
    whole, answer = await asyncio.to_thread(
        _chat, client, messages=history, tools=TOOLS, tool_choice="none", max_tokens=40
    )
    check("CreateChatCompletionResponse", whole)
    assert answer.choices[0].message.content  # an answer in words after the tool's result
    _, bare = await asyncio.to_thread(_chat, client, messages=ask, max_tokens=1)
    assert answer.usage.prompt_tokens > bare.usage.prompt_tokens + 10  # the call and result too


async def test_tools_the_model_cannot_call_are_400s(jp_fetch: Fetch, client: OpenAI) -> None:
    await wait_ready(jp_fetch)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"model": DEMO_FALLBACK_NAME, "tools": TOOLS}, "tools"),  # SmolLM2: no tool calls
        ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "x"}}},
         "tool_choice"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": [{"type": "function", "function": {
            "name": "f", "parameters": {"type": "object", "properties": {"a": {"pattern": "(("}}},
        }}], "tool_choice": "required"}, "tools[0].function.parameters"),
    ]  # fmt: skip
    for settings, param in cases:
        body = {"model": DEMO_LLM_NAME, "messages": ASK_WEATHER, "max_tokens": 8, **settings}
        with pytest.raises(openai.BadRequestError) as error:
            await asyncio.to_thread(functools.partial(client.chat.completions.create, **body))
        assert error.value.param == param, (settings, error.value.message)


async def test_generate_takes_tools_too(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, token: str
) -> None:
    await wait_ready(jp_fetch)
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    body = {"messages": ASK_WEATHER, "tools": TOOLS, "tool_choice": "required",
            "stream": True, "temperature": 0}  # fmt: skip
    raw = await fetch_raw(
        jp_http_port, jp_base_url, "neira/api/generate", "POST", json.dumps(body).encode(), headers
    )
    assert raw.code == 200, raw.body
    events = [json.loads(line) for line in raw.body.decode().splitlines() if line]
    assert [e["type"] for e in events] == ["start", "done"]  # no token of the call's text
    done = events[-1]
    assert done["finish_reason"] == "tool_calls" and done["text"] == ""
    [call] = done["tool_calls"]
    assert call["type"] == "function" and call["function"]["name"] in ("get_weather", "add")


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


async def test_a_langchain_agent_calls_a_python_function(
    jp_fetch: Fetch, v1_url: str, token: str
) -> None:
    await wait_ready(jp_fetch)
    llm = ChatOpenAI(
        model=DEMO_LLM_NAME, base_url=v1_url, api_key=token, temperature=0, max_tokens=60,
        max_retries=0,
    )  # fmt: skip
    question = HumanMessage("What is 6 times 7? Use the multiply tool.")
    caller = llm.bind_tools([multiply], tool_choice="multiply")
    asked = await asyncio.to_thread(caller.invoke, [question])
    assert isinstance(asked, AIMessage)
    [call] = asked.tool_calls
    assert call["name"] == "multiply" and set(call["args"]) == {"a", "b"}
    result = multiply.invoke(call)  # LangChain runs the Python function: a ToolMessage
    assert isinstance(result, ToolMessage) and result.content == str(
        call["args"]["a"] * call["args"]["b"]
    )
    answer = await asyncio.to_thread(
        llm.bind_tools([multiply], tool_choice="none").invoke, [question, asked, result]
    )
    assert isinstance(answer, AIMessage) and not answer.tool_calls
    assert isinstance(answer.content, str) and answer.content.strip()
