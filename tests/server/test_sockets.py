"""WebSocket limits: a per-user cap on open sockets, idle sockets closed, pings on."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.conftest import Fetch


@pytest.fixture
def neira_config() -> dict[str, Any]:
    return {"max_sockets_per_user": 2, "socket_idle_timeout": 1.0}


async def test_a_user_holds_at_most_the_cap_of_sockets(jp_ws_fetch: Any) -> None:
    first = await jp_ws_fetch("neira", "api", "generate", "ws")
    second = await jp_ws_fetch("neira", "api", "transcribe", "stream")
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch("neira", "api", "generate", "ws")
    assert refused.value.code == 429
    first.close()
    for _ in range(50):  # the server sees the close a moment later
        try:
            third = await jp_ws_fetch("neira", "api", "generate", "ws")
            break
        except HTTPClientError:
            await asyncio.sleep(0.05)
    else:
        raise AssertionError("a closed socket did not free its place")
    second.close()
    third.close()


async def test_an_idle_socket_is_closed(jp_ws_fetch: Any, jp_fetch: Fetch) -> None:
    ws = await jp_ws_fetch("neira", "api", "generate", "ws")
    await ws.write_message(json.dumps({"type": "cancel"}))  # a message resets the clock
    message = await asyncio.wait_for(ws.read_message(), timeout=30)
    assert message is None  # closed by the server
    assert ws.close_code == 1000
    assert "idle" in (ws.close_reason or "")
