"""Who reaches the Hub's shared neira service, and what each user sees of the others.

One engine for every Hub user, against a real JupyterHub (the ``hub``
fixture of ``tests/hub/conftest.py``): alice, bob and dave hold
``access:services!service=neira``, carol does not; only the neira API is
served; request ids are per user, so bob neither sees nor cancels alice's
job; the admin scope sees every user's usage and metrics and cancels any
request.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.support.hub_fixture import COUNTING, TESTER_TOKEN, LiveHub, generate, tokens_of

pytestmark = pytest.mark.timeout(600)


def test_only_users_with_access_reach_the_service(hub: LiveHub) -> None:
    status = hub.service + "status"
    assert httpx.get(status).status_code == 403
    assert httpx.get(status, headers=hub.auth("carol")).status_code == 403
    assert httpx.post(hub.service + "generate", headers=hub.auth("carol"),
                      json={"prompt": "hi"}).status_code == 403  # fmt: skip
    assert httpx.get(status, headers=hub.auth("alice")).status_code == 200
    # nothing but the neira API (deny by default)
    for path in ("api/contents", "api/kernels", "api", "terminals/1"):
        response = httpx.get(f"{hub.url}/services/neira/{path}", headers=hub.auth("alice"))
        assert response.status_code == 404, (path, response.text)
    # usage per user is for the admin scope only
    assert httpx.get(hub.service + "usage", headers=hub.auth("alice")).status_code == 403
    admin = {"Authorization": f"token {TESTER_TOKEN}"}
    assert httpx.get(hub.service + "usage", headers=admin).status_code == 200


async def test_request_ids_are_per_user(hub: LiveHub) -> None:
    async with httpx.AsyncClient(timeout=300) as client:
        started = asyncio.Event()
        alice_events: list[dict[str, Any]] = []

        async def alice() -> None:
            body = {"prompt": COUNTING, "max_tokens": 48, "request_id": "job-1"}
            body_json = {"temperature": 0, **body}
            async with client.stream("POST", hub.service + "generate", headers=hub.auth("alice"),
                                     json=body_json) as response:  # fmt: skip
                assert response.status_code == 200
                async for line in response.aiter_lines():
                    if line.strip():
                        alice_events.append(json.loads(line))
                        started.set()

        task = asyncio.ensure_future(alice())
        await asyncio.wait_for(started.wait(), 240)
        # bob neither sees nor cancels alice's request
        cancel = await client.delete(hub.service + "requests/job-1", headers=hub.auth("bob"))
        assert cancel.status_code == 404
        bob_status = (await client.get(hub.service + "status", headers=hub.auth("bob"))).json()
        assert bob_status["queue"]["running_ids"] == []  # alice's job-1 runs; bob sees counts
        assert bob_status["queue"]["running"] >= 1
        # ... and uses the same id for his own generation, which streams too
        code, _, bob_events = await generate(
            client, hub.service, hub.auth("bob"), request_id="job-1"
        )
        assert code == 200 and tokens_of(bob_events), bob_events
        assert bob_events[0]["request_id"] == "job-1"
        await asyncio.wait_for(task, 300)
        assert tokens_of(alice_events), alice_events
        assert alice_events[-1]["type"] == "done"
        assert alice_events[-1]["finish_reason"] != "cancelled"  # bob's DELETE did nothing


async def test_admin_sees_and_cancels_any_request(hub: LiveHub) -> None:
    admin = {"Authorization": f"token {TESTER_TOKEN}"}
    body = {"prompt": COUNTING, "max_tokens": 200, "temperature": 0, "request_id": "admin-1"}
    async with httpx.AsyncClient(timeout=300) as client:
        events: list[dict[str, Any]] = []
        async with client.stream("POST", hub.service + "generate", headers=hub.auth("alice"),
                                 json=body) as response:  # fmt: skip
            async for line in response.aiter_lines():
                if line.strip():
                    events.append(json.loads(line))
                if len(tokens_of(events)) == 1 and events[-1]["type"] == "token":
                    usage = (await client.get(hub.service + "usage", headers=admin)).json()
                    assert "admin-1" in usage["users"]["alice"]["request_ids"]
                    other = hub.service + "requests/admin-1?user=alice"
                    denied = await client.delete(other, headers=hub.auth("bob"))
                    assert denied.status_code == 403
                    assert (await client.delete(other, headers=admin)).status_code == 204
        assert events[-1]["type"] == "done" and events[-1]["finish_reason"] == "cancelled"


def test_admin_scrapes_per_user_metrics(hub: LiveHub) -> None:
    """The service's /metrics: Prometheus text with per-user usage, for the admin scope only."""
    from prometheus_client.parser import text_string_to_metric_families

    body = {"prompt": "Say hello.", "max_tokens": 4, "temperature": 0, "stream": False}
    done = httpx.post(hub.service + "generate", headers=hub.auth("alice"), json=body, timeout=300)
    assert done.status_code == 200, done.text
    url = f"{hub.url}/services/neira/metrics"
    assert httpx.get(url, headers=hub.auth("alice"), timeout=60).status_code == 403
    answer = httpx.get(url, headers={"Authorization": f"token {TESTER_TOKEN}"}, timeout=60)
    assert answer.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    tokens = {
        s.labels["user"]: s.value
        for s in families["neira_user_generated_tokens"].samples
        if s.name.endswith("_total")
    }
    assert tokens.get("alice", 0) >= done.json()["usage"]["completion_tokens"] > 0, tokens
    assert "neira_queue_depth" in families
