"""One engine for every Hub user, against a real JupyterHub (tests/support/hub_fixture.py).

The Hub, its proxy, the managed ``neira`` service (real demo models) and
alice's single-user server start once per session. alice, bob and dave hold
``access:services!service=neira``, carol does not; dave is in the group
``trial`` (4 generated tokens a day); the service allows 2 jobs per user.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from tests.conftest import loads_model
from tests.support.audio_fixtures import speak
from tests.support.hub_fixture import TESTER_TOKEN, LiveHub
from tests.support.kernels import ServerKernel
from tests.support.speech_streams import pcm_of, stream

pytestmark = pytest.mark.timeout(600)
COUNTING = "Count from 1 to 100, separated by commas: 1, 2, 3,"


@pytest.fixture(scope="session")
@loads_model
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    live = LiveHub.start(tmp_path_factory.mktemp("hub"))
    processes: list[psutil.Process] = []
    try:
        live.wait_service_ready("alice")
        live.start_server("alice")
        yield live
    finally:
        if live.process is not None:  # proxy, service, alice's server and her kernels
            processes = psutil.Process(live.process.pid).children(recursive=True)
        live.stop()
    alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"left behind: {[(p.pid, p.cmdline()) for p in alive]}"


def service_pid(hub: LiveHub) -> int:
    assert hub.process is not None
    for child in psutil.Process(hub.process.pid).children(recursive=True):
        if "neira_jupyter.hub" in " ".join(child.cmdline()):
            return int(child.pid)
    raise AssertionError("no neira service process")


async def generate(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    admitted: asyncio.Event | None = None,
    **body: Any,
) -> tuple[int, dict[str, str], list[dict[str, Any]]]:
    """POST generate, streamed: status, headers, and the NDJSON events as they arrived.

    ``admitted`` is set once the service has answered 200 (the job holds its place).
    """
    body = {"prompt": "Say hello.", "max_tokens": 8, "temperature": 0, **body}
    events: list[dict[str, Any]] = []
    async with client.stream("POST", url + "generate", headers=headers, json=body) as response:
        if response.status_code != 200:
            await response.aread()
            return response.status_code, dict(response.headers), [response.json()]
        if admitted is not None:
            admitted.set()
        async for line in response.aiter_lines():
            if line.strip():
                events.append(json.loads(line))
    return 200, dict(response.headers), events


def tokens_of(events: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for e in events if e["type"] == "token"]


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


def _libraries(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_alice_server_relays_and_loads_no_model(hub: LiveHub) -> None:
    relayed = httpx.get(hub.user_api("alice") + "status", headers=hub.auth("alice"), timeout=60)
    assert relayed.status_code == 200
    assert relayed.headers["X-Neira-Relay"] == f"{hub.url}/services/neira/"
    direct = httpx.get(hub.service + "status", headers=hub.auth("alice"), timeout=60).json()
    assert [m["name"] for m in relayed.json()["models"]] == [m["name"] for m in direct["models"]]
    # the models live in the service process only
    assert "libllama" in _libraries(service_pid(hub))
    server = _libraries(hub.server_pid("alice"))
    assert "libllama" not in server and "ctranslate2" not in server
    # carol's token does not pass alice's server
    assert httpx.get(hub.user_api("alice") + "status", headers=hub.auth("carol")).status_code in {
        403, 404,
    }  # fmt: skip


async def test_relayed_generate_socket_and_cancel(hub: LiveHub) -> None:
    url = hub.user_api("alice").replace("http", "ws", 1) + "generate/ws"
    ws = await websocket_connect(HTTPRequest(url, headers=hub.auth("alice")))
    await ws.write_message(json.dumps({"type": "generate", "prompt": COUNTING,
                                       "max_tokens": 200, "temperature": 0}))  # fmt: skip
    kinds: list[str] = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.read_message(), 240))
        kinds.append(message["type"])
        if message["type"] == "token" and kinds.count("token") == 2:
            await ws.write_message(json.dumps({"type": "cancel"}))
        if message["type"] in {"done", "error"}:
            break
    ws.close()
    assert kinds[0] == "start" and "token" in kinds
    assert message["type"] == "done" and message["finish_reason"] == "cancelled", message
    with pytest.raises(HTTPClientError) as refused:  # carol: refused before the upgrade
        await websocket_connect(HTTPRequest(url, headers=hub.auth("carol")))
    assert refused.value.code in {403, 404}


async def test_kernel_magic_streams_from_the_shared_engine(hub: LiveHub) -> None:
    admin = {"Authorization": f"token {TESTER_TOKEN}"}
    before = httpx.get(hub.service + "usage", headers=admin).json()["users"]["alice"]
    api = f"{hub.url}/user/alice/api/"
    async with httpx.AsyncClient(timeout=120, headers=hub.auth("alice")) as client:
        session = await client.post(api + "sessions", json={
            "path": "hub.ipynb", "type": "notebook", "name": "hub.ipynb",
            "kernel": {"name": "python3"}})  # fmt: skip
        assert session.status_code == 201, session.text
        kernel_id = session.json()["kernel"]["id"]
        url = f"{api}kernels/{kernel_id}/channels".replace("http", "ws", 1)
        ws = await websocket_connect(HTTPRequest(url, headers=hub.auth("alice")))
        kernel = ServerKernel(None, ws, kernel_id)  # type: ignore[arg-type]
        try:
            await kernel.wait_ready()
            loaded = await kernel.execute("%load_ext neira_jupyter")
            assert loaded.ok, loaded.describe()
            run = await kernel.execute(
                "%%neira --out answer --max-tokens 12 --temperature 0 --seed 1\nSay hello."
            )
            assert run.ok, run.describe()
            assert len(run.displays()) >= 2, run.describe()  # shown, then updated as it streams
            check = await kernel.execute("print(len(str(answer)) > 0)")
            assert check.stdout.strip() == "True", check.describe()
        finally:
            ws.close()
            await client.delete(f"{api}sessions/{session.json()['id']}")
    after = httpx.get(hub.service + "usage", headers=admin).json()["users"]["alice"]
    assert after["requests_total"] > before["requests_total"]  # served by the shared engine


async def test_recorder_socket_through_the_relay(hub: LiveHub, audio_dir: Path) -> None:
    sentence = "The quick brown fox jumps over the lazy dog."
    url = hub.user_api("alice").replace("http", "ws", 1) + "transcribe/stream"
    ws = await websocket_connect(HTTPRequest(url, headers=hub.auth("alice")))
    messages = await stream(ws, pcm_of([speak(sentence, "en", audio_dir)]), {"correct": False})
    ws.close()
    kinds = [m["type"] for m in messages]
    assert kinds[0] == "started" and kinds[-1] == "final", messages
    assert "partial" in kinds
    assert "fox" in messages[-1]["raw"].lower()


async def test_relay_cancels_by_delete_and_when_the_client_leaves(hub: LiveHub) -> None:
    relay, auth = hub.user_api("alice"), hub.auth("alice")
    body = {"prompt": COUNTING, "max_tokens": 200, "temperature": 0}
    async with httpx.AsyncClient(timeout=300) as client:
        events: list[dict[str, Any]] = []
        async with client.stream("POST", relay + "generate", headers=auth,
                                 json={**body, "request_id": "relay-1"}) as response:  # fmt: skip
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.strip():
                    events.append(json.loads(line))
                if tokens_of(events) and len(events) == 2:
                    cancel = await client.delete(relay + "requests/relay-1", headers=auth)
                    assert cancel.status_code == 204
        assert events[-1]["type"] == "done" and events[-1]["finish_reason"] == "cancelled"

        admin = {"Authorization": f"token {TESTER_TOKEN}"}
        before = (await client.get(hub.service + "usage", headers=admin)).json()["users"]["alice"]
        async with client.stream("POST", relay + "generate", headers=auth,
                                 json={**body, "request_id": "relay-2"}) as response:  # fmt: skip
            async for line in response.aiter_lines():
                if '"token"' in line:
                    break  # leaving the block closes the connection to alice's server
        for _ in range(60):
            status = (await client.get(hub.service + "status", headers=auth)).json()
            if "relay-2" not in status["queue"]["running_ids"]:
                break
            await asyncio.sleep(0.5)
        assert "relay-2" not in status["queue"]["running_ids"]
        after = (await client.get(hub.service + "usage", headers=admin)).json()["users"]["alice"]
        assert after["tokens_today"] - before["tokens_today"] < 100  # stopped, not 200 tokens


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


def test_openai_client_through_the_relay_and_the_service(hub: LiveHub) -> None:
    """The official ``openai`` client reaches the shared engine's ``neira/v1`` both ways."""
    import openai

    for base in (f"{hub.url}/user/alice/neira/v1/", f"{hub.url}/services/neira/neira/v1/"):
        client = openai.OpenAI(base_url=base, api_key=hub.tokens["alice"], timeout=120)
        models = [m.id for m in client.models.list()]
        answer = client.chat.completions.create(
            model=models[0],
            messages=[{"role": "user", "content": "Say hello."}],
            max_tokens=4,
            temperature=0,
        )
        assert answer.choices[0].message.content, base
        assert answer.usage is not None and 0 < answer.usage.completion_tokens <= 4
    denied = openai.OpenAI(
        base_url=f"{hub.url}/services/neira/neira/v1/", api_key=hub.tokens["carol"]
    )
    # carol's token is valid at the Hub but carries no access to the service: to the
    # service she is nobody, which the OpenAI routes answer with 401 in OpenAI's shape
    with pytest.raises(openai.AuthenticationError):
        denied.models.list()


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
