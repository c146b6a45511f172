"""A user's single-user server relays to the Hub's shared engine and loads no model itself.

Against a real JupyterHub (the ``hub`` fixture of ``tests/hub/conftest.py``):
alice's server relays status, generation (HTTP and WebSocket), the
recorder's socket, cancels (by ``DELETE`` and when the client leaves) and
the OpenAI routes to the service, whose process alone holds the models; a
kernel's ``%%neira`` streams from the shared engine; carol's token passes
neither way.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from tests.support.audio_fixtures import speak
from tests.support.hub_fixture import COUNTING, TESTER_TOKEN, LiveHub, tokens_of
from tests.support.kernels import ServerKernel
from tests.support.speech_streams import pcm_of, stream

pytestmark = pytest.mark.timeout(600)


def service_pid(hub: LiveHub) -> int:
    assert hub.process is not None
    for child in psutil.Process(hub.process.pid).children(recursive=True):
        if "neira_jupyter.hub" in " ".join(child.cmdline()):
            return int(child.pid)
    raise AssertionError("no neira service process")


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
        text = await asyncio.wait_for(ws.read_message(), 240)
        assert text is not None, kinds  # None: the socket closed
        message = json.loads(text)
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


def test_responses_through_the_relay_stay_their_users(hub: LiveHub) -> None:
    """``v1/responses`` through alice's relay: served by the shared engine, its tokens
    counted in alice's quota, her stored response readable and continuable by her only."""
    import openai

    admin = {"Authorization": f"token {TESTER_TOKEN}"}
    before = httpx.get(hub.service + "usage", headers=admin).json()["users"]["alice"]
    alice = openai.OpenAI(
        base_url=f"{hub.url}/user/alice/neira/v1/", api_key=hub.tokens["alice"], timeout=120
    )
    model = next(iter(alice.models.list())).id
    mine = alice.responses.create(model=model, input="Say hello.", max_output_tokens=4)
    assert mine.output_text and mine.usage is not None
    assert alice.responses.retrieve(mine.id).id == mine.id
    after = httpx.get(hub.service + "usage", headers=admin).json()["users"]["alice"]
    assert after["tokens_today"] - before["tokens_today"] >= mine.usage.output_tokens
    bob = openai.OpenAI(
        base_url=f"{hub.url}/services/neira/neira/v1/", api_key=hub.tokens["bob"], timeout=120
    )
    with pytest.raises(openai.NotFoundError):
        bob.responses.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        bob.responses.create(
            model=model, input="Go on.", max_output_tokens=4, previous_response_id=mine.id
        )
    with pytest.raises(openai.NotFoundError):
        bob.responses.delete(mine.id)
    continued = alice.responses.create(
        model=model, input="Again.", max_output_tokens=4, previous_response_id=mine.id
    )
    assert continued.previous_response_id == mine.id


def test_embeddings_through_the_relay_count_in_the_users_quota(hub: LiveHub) -> None:
    """``v1/embeddings`` through alice's relay: the shared engine's embedding model answers,
    and the input tokens count in alice's quota."""
    import openai

    admin = {"Authorization": f"token {TESTER_TOKEN}"}
    def tokens_today() -> int:
        users = httpx.get(hub.service + "usage", headers=admin).json()["users"]
        used: int = users.get("alice", {}).get("tokens_today", 0)  # none before her first
        return used

    before = tokens_today()
    alice = openai.OpenAI(
        base_url=f"{hub.url}/user/alice/neira/v1/", api_key=hub.tokens["alice"], timeout=120
    )
    kinds = {m.id: (m.model_extra or {}).get("neira_kind") for m in alice.models.list()}
    [model] = [name for name, kind in kinds.items() if kind == "embedding"]
    answer = alice.embeddings.create(model=model, input=["the notebook", "the kernel"])
    assert [len(d.embedding) for d in answer.data] == [384, 384]
    assert answer.usage.prompt_tokens > 0
    assert tokens_today() - before >= answer.usage.prompt_tokens


def test_completions_of_two_users_share_the_engine_and_each_pays_their_own(
    hub: LiveHub,
) -> None:
    """alice (through her relay) and bob (at the service) ask ``api/complete`` at once,
    each with the same editor key: the shared engine serves both, neither cancels the
    other's, and each one's tokens count in their own quota only."""
    admin = {"Authorization": f"token {TESTER_TOKEN}"}

    def tokens_today() -> dict[str, int]:
        users = httpx.get(hub.service + "usage", headers=admin).json()["users"]
        return {user: users.get(user, {}).get("tokens_today", 0) for user in ("alice", "bob")}

    body = {
        "prefix": "def add(a, b):\n    return ",
        "context": ["import numpy as np"],
        "max_tokens": 8,
        "stream": False,
        "stream_key": "lab-notebook-1",
    }

    async def both() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=120) as client:
            relayed = hub.user_api("alice") + "complete"
            answers = await asyncio.gather(
                client.post(relayed, json=body, headers=hub.auth("alice")),
                client.post(hub.service + "complete", json=body, headers=hub.auth("bob")),
            )
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        return [a.json() for a in answers]

    before = tokens_today()
    alice, bob = asyncio.run(both())
    after = tokens_today()
    for answer in (alice, bob):
        assert answer["finish_reason"] != "cancelled", answer  # same key, different users
        assert answer["text"].strip().startswith("a + b"), answer
    for user, answer in (("alice", alice), ("bob", bob)):
        usage = answer["usage"]
        charged = after[user] - before[user]
        assert usage["completion_tokens"] <= charged <= usage["total_tokens"], (user, answer)
