"""The Hub service's limits per user: jobs at once and a group's daily token quota.

Against a real JupyterHub (the ``hub`` fixture of ``tests/hub/conftest.py``)
whose service allows 2 jobs per user and gives the group ``trial`` (dave) 4
generated tokens a day: alice's third job is a 429 with ``Retry-After``
while bob is still served, dave's second request is over his quota, and a
client that hangs up mid-stream is charged the tokens it received.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.support.hub_fixture import COUNTING, TESTER_TOKEN, LiveHub, generate, tokens_of

pytestmark = pytest.mark.timeout(600)


async def test_over_the_limit_is_429_for_alice_only(hub: LiveHub) -> None:
    async with httpx.AsyncClient(timeout=300) as client:
        # long enough to still run while her third arrives, however fast the machine
        slow = {"prompt": COUNTING, "max_tokens": 256}
        admitted = [asyncio.Event(), asyncio.Event()]
        burst = [generate(client, hub.service, hub.auth("alice"), a, **slow) for a in admitted]
        tasks = [asyncio.ensure_future(g) for g in burst]
        await asyncio.wait_for(asyncio.gather(*(a.wait() for a in admitted)), 240)
        # her third, through her own server's relay: 429 + Retry-After + which limit
        code, headers, body = await generate(client, hub.user_api("alice"), hub.auth("alice"))
        assert code == 429, body
        assert int(headers["retry-after"]) >= 1
        assert "limit per user is 2" in body[0]["message"]
        # bob is admitted meanwhile, and not stuck behind alice's burst
        bob = await generate(client, hub.service, hub.auth("bob"))
        assert bob[0] == 200 and tokens_of(bob[2])
        results = await asyncio.gather(*tasks)
        assert all(code == 200 for code, _, _ in results)


async def test_daily_token_quota_of_a_group(hub: LiveHub) -> None:
    async with httpx.AsyncClient(timeout=300) as client:
        first = await generate(client, hub.service, hub.auth("dave"), max_tokens=8)
        assert first[0] == 200 and tokens_of(first[2])
        code, headers, body = await generate(client, hub.service, hub.auth("dave"))
        assert code == 429, body
        assert "tokens_per_day" in body[0]["message"] and int(headers["retry-after"]) >= 1
        admin = {"Authorization": f"token {TESTER_TOKEN}"}
        usage = (await client.get(hub.service + "usage", headers=admin)).json()["users"]
        assert usage["dave"]["groups"] == ["trial"]
        assert usage["dave"]["limits"]["tokens_per_day"] == 4
        assert usage["dave"]["tokens_today"] >= 4
        assert usage["alice"]["limits"]["tokens_per_day"] == 0  # no group, no limit


async def test_a_client_that_leaves_mid_stream_pays_for_its_tokens(hub: LiveHub) -> None:
    """The token quota counts what was streamed, however the stream ends: hanging up
    after a few tokens (no ``done`` ever read) does not make them free."""
    admin = {"Authorization": f"token {TESTER_TOKEN}"}
    body = {"prompt": COUNTING, "max_tokens": 200, "temperature": 0, "request_id": "leave-1"}

    async def tokens_today(client: httpx.AsyncClient) -> int:
        users = (await client.get(hub.service + "usage", headers=admin)).json()["users"]
        return int(users.get("bob", {}).get("tokens_today", 0))

    async with httpx.AsyncClient(timeout=300) as client:
        before = await tokens_today(client)
        received = 0
        async with client.stream("POST", hub.service + "generate", headers=hub.auth("bob"),
                                 json=body) as response:  # fmt: skip
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.strip() and json.loads(line)["type"] == "token":
                    received += 1
                    if received == 3:
                        break  # leaving the block closes the connection mid-stream
        charged = before
        for _ in range(60):  # the service notices the closed connection on its next write
            charged = await tokens_today(client)
            if charged - before >= received:
                break
            await asyncio.sleep(0.5)
        assert received <= charged - before < 200, (received, before, charged)
