"""LangChain's ``ChatOpenAI`` (langchain-openai) against ``neira/v1/`` on a real server.

Configured as a user would: ``base_url`` is the server's ``neira/v1`` and
``api_key`` the server's token. Sync calls run in a worker thread, since the
server shares this test's event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from neira_jupyter.engine.models import DEMO_LLM_NAME
from tests.conftest import Fetch, get_status, wait_ready


async def test_chat_openai_invoke_and_stream(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, jp_serverapp: Any
) -> None:
    await wait_ready(jp_fetch)
    llm = ChatOpenAI(
        model=DEMO_LLM_NAME,
        base_url=f"http://localhost:{jp_http_port}{jp_base_url}neira/v1",
        api_key=jp_serverapp.identity_provider.token,
        temperature=0,
        max_tokens=12,
        max_retries=0,
        stream_usage=True,
    )
    messages = [
        SystemMessage("You answer in one short sentence."),
        HumanMessage("Name a colour of the rainbow."),
    ]
    answer = await asyncio.to_thread(llm.invoke, messages)
    assert isinstance(answer, AIMessage)
    assert isinstance(answer.content, str) and answer.content.strip()
    assert answer.response_metadata["model_name"] == DEMO_LLM_NAME
    assert answer.usage_metadata is not None
    assert 1 <= answer.usage_metadata["output_tokens"] <= 12

    chunks = await asyncio.to_thread(lambda: list(llm.stream(messages)))
    assert len([c for c in chunks if c.content]) > 1
    assert "".join(str(c.content) for c in chunks) == answer.content  # greedy: same text
    usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert usage and usage[-1]["output_tokens"] == answer.usage_metadata["output_tokens"]
    assert (await get_status(jp_fetch))["queue"]["running"] == 0
