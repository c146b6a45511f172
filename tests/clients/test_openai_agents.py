"""The OpenAI Agents SDK (``openai-agents``) with its default model, the Responses API.

An agent with one Python function tool runs against ``neira/v1/`` on a real
server with the demo model, configured as a user would: the SDK's default
OpenAI client pointed at the server (``base_url``, the token as the key),
tracing off (it would send traces to OpenAI). The model calls the tool
(``tool_choice: required`` for the first turn; the SDK resets it after a
call), the SDK runs the function and sends its output back, and the run
ends with the model's answer; the same streamed (``Runner.run_streamed``).
"""

from __future__ import annotations

from typing import Any

from agents import (
    Agent,
    ModelSettings,
    Runner,
    function_tool,
    set_default_openai_client,
    set_tracing_disabled,
)
from openai import AsyncOpenAI

from neira_jupyter.engine.models import DEMO_LLM_NAME
from tests.conftest import Fetch, get_status, wait_ready


async def test_an_agent_calls_a_function_tool(jp_fetch: Fetch, v1_url: str, token: str) -> None:
    await wait_ready(jp_fetch)
    asked: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        asked.append(city)
        return f"Sunny, 21 C in {city}."

    set_tracing_disabled(True)
    client = AsyncOpenAI(base_url=v1_url, api_key=token, max_retries=0)
    set_default_openai_client(client, use_for_tracing=False)
    agent = Agent(
        name="weather",
        instructions="You answer questions about the weather with the get_weather tool.",
        model=DEMO_LLM_NAME,
        tools=[get_weather],
        model_settings=ModelSettings(tool_choice="required", temperature=0, max_tokens=64),
    )
    result: Any = await Runner.run(agent, "What is the weather in Paris?", max_turns=4)
    streamed = Runner.run_streamed(agent, "What is the weather in Rome?", max_turns=4)
    kinds = {event.type async for event in streamed.stream_events()}
    await client.close()
    assert "raw_response_event" in kinds and "run_item_stream_event" in kinds
    assert "rome" in asked[-1].lower() and str(streamed.final_output).strip()
    ids = [raw.response_id for raw in result.raw_responses]
    assert ids and all(i.startswith("resp_") for i in ids)  # the Responses API served each turn
    assert asked and "paris" in asked[0].lower()
    assert isinstance(result.final_output, str) and result.final_output.strip()
    assert (await get_status(jp_fetch))["queue"]["running"] == 0
