"""Neira in Jupyter's chat, on a real server with jupyterlab-chat, the persona manager, a real
kernel and the demo model.

The persona is found through the ``jupyter_ai.personas`` entry point by the
real persona manager; a chat (``YChat``) gets a question; the answer streams
into one message (its body grows while it is generated), uses the notebook
snapshot the browser would post and the kernel's variables, says what it
used, and answers in the question's language. The chat's stop control
(``POST api/ai/personas/cancel``) cancels the generation in the engine
(``neira_generations_total{finish_reason="cancelled"}``). The relay path (a Hub user's
server) streams, passes a refusal on, and cancels the service's job when stopped.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from jupyter_client.asynchronous import AsyncKernelClient
from jupyterlab_chat.models import Message, NewMessage
from jupyterlab_chat.ychat import YChat
from tornado.httpclient import HTTPClientError

from neira_jupyter.chat.backend import ChatBackend
from neira_jupyter.kernel.fix import error_snapshot, fix_request, own_variables
from neira_jupyter.protocol import ErrorEvent, GenerateRequest
from neira_jupyter.server.relay import RELAY_KEY, Relay
from tests.conftest import Fetch, wait_ready
from tests.server.test_metrics import moved, scrape
from tests.support.helpers import wait_for
from tests.support.ipython_shell import magics_of

NEIRA_ID = "jupyter-ai-personas::neira_jupyter::NeiraPersona"
DF_CODE = 'import pandas as pd\ndf = pd.DataFrame({"alpha": [1, 2, 3], "beta": [0.5, 1.5, 2.5]})'


@pytest.fixture
def neira_config() -> dict[str, Any]:
    return {"max_tokens_limit": 1024}


@pytest.fixture
def jp_server_config(neira_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {
                "neira_jupyter": True,
                "jupyterlab_chat": True,
                "jupyter_ai_router": True,
                "jupyter_ai_persona_manager": True,
            },
            "allow_unauthenticated_access": False,
            "terminals_enabled": False,
        },
        # greedy answers: what the demo model says is the same every run
        "NeiraApp": {**neira_config, "default_temperature": 0.0},
        "PersonaManager": {"default_persona_id": NEIRA_ID},
        "NeiraPersona": {"answer_tokens": 96},
    }


class Chat:
    """A chat with the persona manager of the server under test, as the router makes one."""

    def __init__(self, serverapp: Any) -> None:
        (extension,) = serverapp.extension_manager.extension_apps["jupyter_ai_persona_manager"]
        self.chat = YChat()
        self.chat.initial_path = "neira-test.chat"
        self.manager = extension._init_persona_manager(self.chat)
        managers = serverapp.web_app.settings["jupyter-ai"]["persona-managers"]
        managers[self.chat.get_id()] = self.manager  # what the stop control looks up
        self.persona = self.manager.personas[NEIRA_ID]

    def ask(self, text: str) -> asyncio.Task[None]:
        """Post ``text`` to the chat and hand it to Neira, as the router does."""
        message_id = self.chat.add_message(NewMessage(body=text, sender="tester"))
        message = Message(body=text, id=message_id, time=0.0, sender="tester",
                          metadata={"to_persona": NEIRA_ID})  # fmt: skip
        return asyncio.ensure_future(self.persona.on_message(message))

    def answer(self) -> str:
        mine = [m for m in self.chat.get_messages() if m.sender == NEIRA_ID]
        return mine[-1].body if mine else ""

    async def watch(self, task: asyncio.Task[None]) -> list[int]:
        """Wait for the answer; the lengths its body had while it streamed."""
        lengths: list[int] = []
        while not task.done():
            length = len(self.answer())
            if length and (not lengths or length != lengths[-1]):
                lengths.append(length)
            await asyncio.sleep(0.01)
        await task
        return lengths


async def start_df_kernel(serverapp: Any) -> str:
    """A kernel of the server under test in which a notebook defined ``df``."""
    kernel_id: str = await serverapp.kernel_manager.start_kernel(kernel_name="python3")
    client = AsyncKernelClient()
    client.load_connection_info(
        serverapp.kernel_manager.get_kernel(kernel_id).get_connection_info()
    )
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        reply = await client.execute_interactive(DF_CODE, timeout=60, output_hook=lambda m: None)
        assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()
    return kernel_id


async def post_snapshot(jp_fetch: Fetch, snapshot: dict[str, Any]) -> Any:
    return await jp_fetch("neira", "chat", "context", method="POST", body=json.dumps(snapshot))


async def test_answer_streams_from_the_notebook_and_the_kernel(
    jp_fetch: Fetch, jp_serverapp: Any
) -> None:
    await wait_ready(jp_fetch)
    kernel_id = await start_df_kernel(jp_serverapp)
    await post_snapshot(jp_fetch, {
        "path": "Untitled.ipynb", "kernel_id": kernel_id, "active": 1,
        "cells": [{"kind": "code", "source": DF_CODE}, {"kind": "code", "source": "df.head()"}],
    })  # fmt: skip
    chat = Chat(jp_serverapp)
    lengths = await chat.watch(chat.ask("What columns does df have?"))
    answer = chat.answer()
    assert len(lengths) >= 3 and lengths == sorted(lengths)  # it streamed into one message
    body, footer = answer.split("\n\n---\n")
    assert "alpha" in body and "beta" in body
    assert footer.startswith("*used: 2 cells, df")


async def test_the_answer_is_in_the_question_s_language(jp_fetch: Fetch, jp_serverapp: Any) -> None:
    await wait_ready(jp_fetch)
    chat = Chat(jp_serverapp)
    await chat.watch(chat.ask("Что такое список в Python? Ответь одним предложением."))
    body, footer = chat.answer().split("\n\n---\n")
    prose = re.sub(r"```.*?(```|$)|`[^`]*`", " ", body, flags=re.S).lower()  # code aside
    assert len(re.findall("[а-яё]", prose)) > len(re.findall("[a-z]", prose)), body
    assert footer == "*использовано: ничего*"


async def test_stop_cancels_the_generation_on_the_server(
    jp_fetch: Fetch, jp_serverapp: Any
) -> None:
    await wait_ready(jp_fetch)
    chat = Chat(jp_serverapp)
    chat.persona.answer_tokens = 400
    before, _ = await scrape(jp_fetch)
    task = chat.ask("Write a long story about a cat who learns Python, in many paragraphs.")
    while len(chat.answer()) < 20:
        assert not task.done(), chat.answer()
        await asyncio.sleep(0.01)
    stopped = await jp_fetch("api", "ai", "personas", "cancel", method="POST", body=b"",
                             params={"chat_id": chat.chat.get_id()})  # fmt: skip
    assert json.loads(stopped.body)["cancelled"] == [NEIRA_ID]
    await chat.watch(task)
    assert "*(stopped)*" in chat.answer()
    after, _ = await scrape(jp_fetch)
    assert moved(before, after, "neira_generations_total", finish_reason="cancelled") == 1


async def test_the_snapshot_route_is_guarded(jp_fetch: Fetch, jp_serverapp: Any) -> None:
    with pytest.raises(HTTPClientError) as refused:
        await post_snapshot(jp_fetch, {"cells": [{"kind": "code", "source": "x"}], "extra": 1})
    assert refused.value.code == 400
    with pytest.raises(HTTPClientError) as refused:
        await post_snapshot(jp_fetch, {"cells": [{"source": "x" * 30_000}]})
    assert refused.value.code == 400
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("neira", "chat", "context", method="POST", body="{}",
                       headers={"Authorization": ""})  # fmt: skip
    assert refused.value.code == 403
    response = await jp_fetch("neira", "chat", "context", method="DELETE")
    assert response.code == 204


async def test_the_persona_asks_as_neira_fix_does(jp_serverapp: Any) -> None:
    """For the snapshot and variables ``%neira fix`` reads from a kernel (a real IPython
    shell) and its question, the persona builds the very request the magic sends."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "neira_jupyter")
    try:
        for code in (DF_CODE, "df.shape", 'df["gamma"]'):
            shell.run_cell(code, store_history=True)
        error = magics_of(shell).last_error
        assert error is not None
        shell.execution_count += 1  # as while the %neira fix cell runs
        chat = Chat(jp_serverapp)
        backend = ChatBackend(jp_serverapp.web_app.settings)
        window, answer = backend.context_tokens or 2048, chat.persona.answer_tokens
        magic, asked = fix_request(shell, error, window_tokens=window, answer_tokens=answer)
        snapshot = error_snapshot(shell, error, os.environ.get("JPY_SESSION_NAME", ""))
        question = (magic.messages or [])[-1].content
        persona = chat.persona.prompt(question, snapshot, own_variables(shell), backend, [])
    finally:
        shell.execution_count -= 1
        shell.run_line_magic("unload_ext", "neira_jupyter")
    assert question.startswith("Explain the error in cell ")
    assert persona.request.system == magic.system and persona.footer == asked.footer
    assert persona.request.messages == magic.messages and persona.request.max_tokens == answer
    assert "the last error" in asked.footer and "df" in asked.footer


async def test_the_relay_path_streams_refuses_and_cancels(
    jp_fetch: Fetch, jp_serverapp: Any, jp_http_port: int, jp_base_url: str
) -> None:
    """What the persona does on a Hub user's server (no engine, a ``Relay``), against this
    server's real ``neira/api/generate`` standing in for the shared service."""
    await wait_ready(jp_fetch)
    relay = Relay(
        f"http://localhost:{jp_http_port}{jp_base_url}", jp_serverapp.identity_provider.token
    )
    backend = ChatBackend({RELAY_KEY: relay})
    try:
        refused = [e async for e in backend.generate("alice", GenerateRequest(
            prompt="hi", max_tokens=2048)).events()]  # fmt: skip
        assert isinstance(refused[-1], ErrorEvent) and refused[-1].status == 400, refused
        before, _ = await scrape(jp_fetch)
        long = GenerateRequest(prompt="Count from 1 to 300, one number a line.", max_tokens=600)
        generation = backend.generate("alice", long)
        kinds: list[str] = []
        async for event in generation.events():
            kinds.append(event.type)  # type: ignore[attr-defined]
            if kinds.count("token") == 5:
                generation.cancel()
        assert kinds[0] == "start" and kinds.count("token") >= 5 and "done" not in kinds
        await wait_for(jp_fetch, lambda status: status["queue"]["running"] == 0)
        # the server learns of the close at its next write; the job then ends cancelled
        assert await cancelled_since(jp_fetch, before) == 1
    finally:
        await relay.close()


async def cancelled_since(jp_fetch: Fetch, before: Any, timeout: float = 60.0) -> float:
    """Generations ended ``cancelled`` since the scrape ``before``: waits until one has."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        after, _ = await scrape(jp_fetch)
        count = moved(before, after, "neira_generations_total", finish_reason="cancelled")
        if count or asyncio.get_running_loop().time() > deadline:
            return count
        await asyncio.sleep(0.2)
