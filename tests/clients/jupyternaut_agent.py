"""Jupyter AI 3's Jupyternaut agent, run against neira's OpenAI-compatible API.

Run by tests/clients/test_openai_jupyter_ai3.py with the interpreter of
``.venv-jupyter-ai3`` (jupyter-ai 3 with its ``jupyternaut`` extra: LiteLLM,
langchain 1.x), which cannot share the project's venv. It drives Jupyternaut's
own code: ``JupyternautPersona.get_agent`` (its ``ChatLiteLLM`` with prompt
caching hints, LangChain's ``create_agent``, its tool-error middleware), its
system prompt template, and the ``astream_events(version="v3")`` loop its
``process_message`` streams into the chat. Only the chat document and the
persona manager are left out: the persona is made with ``__new__``, as
jupyter-ai's own persona tests do, and offered one Python tool. Then the
same ``ChatLiteLLM`` asks for structured output (LiteLLM sends a
``json_schema`` response format).

Usage: ``python jupyternaut_agent.py BASE_URL API_KEY MODEL QUESTION``; prints
one JSON object: the streamed text, the tool calls the agent ran, the
messages of the conversation's end state, and the structured answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

from jupyter_ai_jupyternaut.jupyternaut.chat_models import ChatLiteLLM
from jupyter_ai_jupyternaut.jupyternaut.jupyternaut import JupyternautPersona
from jupyter_ai_jupyternaut.jupyternaut.prompt_template import (
    JUPYTERNAUT_SYSTEM_PROMPT_TEMPLATE,
    JupyternautSystemPromptArgs,
)
from langchain_core.tools import tool
from pydantic import BaseModel

CALLS: list[dict[str, Any]] = []


class Colour(BaseModel):
    """A colour of the rainbow."""

    name: str
    position: int


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    CALLS.append({"a": a, "b": b})
    return a * b


async def ask(base_url: str, api_key: str, model: str, question: str) -> dict[str, Any]:
    persona = JupyternautPersona.__new__(JupyternautPersona)
    persona.log = logging.getLogger("jupyternaut")

    async def tools() -> list[Any]:
        return [multiply]

    persona.get_tools = tools
    model_id = f"openai/{model}"  # LiteLLM's OpenAI-compatible provider, as a user picks it
    system_prompt = JUPYTERNAUT_SYSTEM_PROMPT_TEMPLATE.render(
        **JupyternautSystemPromptArgs(
            model_id=model_id, persona_name="Jupyternaut", context="User's username is 'alice'\n\n"
        ).model_dump()
    )
    args = {"api_base": base_url, "api_key": api_key, "temperature": 0, "max_tokens": 96}
    agent = await persona.get_agent(model_id=model_id, model_args=args, system_prompt=system_prompt)
    streamed: list[str] = []
    config = {"configurable": {"thread_id": "neira-test", "username": "alice"}}
    stream = await agent.astream_events(
        {"messages": [{"role": "user", "content": question}]}, config, version="v3"
    )
    async for event in stream:  # the loop of JupyternautPersona.process_message
        if event["method"] != "messages":
            continue
        data = event["params"]["data"][0]
        if isinstance(data, dict) and data.get("event") == "content-block-delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text-delta":
                streamed.append(delta.get("text", ""))
    state = await agent.aget_state(config)
    messages = [
        {"type": m.type, "content": m.content, "tool_calls": getattr(m, "tool_calls", None)}
        for m in state.values["messages"]
    ]
    structured = ChatLiteLLM(model=model_id, **args).with_structured_output(Colour)
    colour = await structured.ainvoke("Name the first colour of the rainbow and its position.")
    return {
        "streamed": "".join(streamed),
        "calls": CALLS,
        "messages": messages,
        "structured": colour.model_dump() if isinstance(colour, Colour) else repr(colour),
    }


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(ask(*sys.argv[1:5])), default=str))
