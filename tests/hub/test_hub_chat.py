"""Neira in Jupyter's chat on the live JupyterHub: two users chat at once, each in their own
server, through the shared service.

alice and bob each open a chat in their own single-user server (jupyterlab-chat's
WebSocket, as the browser does) and ask Neira at the same time; each server's persona
relays to the one neira service with its user's Hub token, so the service charges each
user for their own answer's tokens; neither user can open the other's chat.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from tests.support.hub_fixture import TESTER_TOKEN, LiveHub

pytestmark = pytest.mark.timeout(600)

NEIRA_ID = "jupyter-ai-personas::neira_jupyter::NeiraPersona"
CHAT = "neira-hub.chat"


def chat_socket(hub: LiveHub, user: str, as_user: str | None = None) -> HTTPRequest:
    url = f"ws://127.0.0.1:{hub.port}/user/{user}/api/chat/ws/{CHAT}"
    return HTTPRequest(url, headers=hub.auth(as_user or user), request_timeout=60)


async def ask(hub: LiveHub, user: str, question: str) -> str:
    """Ask Neira in ``user``'s chat; the answer's body once it says what it used."""
    socket = await websocket_connect(chat_socket(hub, user))
    try:
        socket.write_message(json.dumps({
            "type": "client", "action": "send", "id": uuid.uuid4().hex, "body": question,
            "metadata": {"to_persona": NEIRA_ID},
        }))  # fmt: skip
        while True:
            frame = await asyncio.wait_for(socket.read_message(), 300)
            assert frame is not None, "the chat socket closed"
            data: dict[str, Any] = json.loads(frame)
            message = data.get("message") or {}
            if message.get("sender") == NEIRA_ID and "used:" in message.get("body", ""):
                return str(message["body"])
    finally:
        socket.close()


async def tokens_today(client: httpx.AsyncClient, hub: LiveHub) -> dict[str, int]:
    admin = {"Authorization": f"token {TESTER_TOKEN}"}
    users = (await client.get(hub.service + "usage", headers=admin)).json()["users"]
    return {user: int(users.get(user, {}).get("tokens_today", 0)) for user in ("alice", "bob")}


async def test_two_users_chat_at_once_each_on_their_own_quota(hub: LiveHub) -> None:
    hub.start_server("bob")
    async with httpx.AsyncClient(timeout=60) as client:
        before = await tokens_today(client, hub)
        answers = await asyncio.gather(
            ask(hub, "alice", "What is a Python list? One sentence."),
            ask(hub, "bob", "What is a Python dict? One sentence."),
        )
        after = await tokens_today(client, hub)
    for answer in answers:
        assert "could not answer" not in answer, answer
        assert answer.split("\n\n---\n")[0].strip(), answer
    assert after["alice"] > before["alice"] and after["bob"] > before["bob"], (before, after)
    # each chat lives in its owner's server: bob's token does not open alice's
    with pytest.raises(HTTPClientError) as refused:
        await websocket_connect(chat_socket(hub, "alice", as_user="bob"))
    assert refused.value.code in {403, 404}
