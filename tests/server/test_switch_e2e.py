"""Memory pressure, fallback and degraded mode end to end: a real server, two real GGUF models.

The demo GGUFs play both models: Qwen2.5-Coder-0.5B-Instruct as ``demo-primary``
(n_ctx 1024) and SmolLM2-135M-Instruct as ``demo-fallback`` (n_ctx 512). The only
thing the test controls is the memory reading: ``NeiraApp.memory_source``
names a JSON file (``file:`` source, the same ``MemorySource`` interface as
NVML and psutil) that the test rewrites. Everything else -- the jupyter
server, authentication, the handlers, the scheduler, llama.cpp -- is real.

Waits poll the status with a generous deadline; nothing asserts a duration.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from neira_jupyter.engine import models
from tests.conftest import Fetch, get_status
from tests.support.helpers import wait_for
from tests.support.memory_file import PLENTY, RECOVERED, SCARCE, write_memory
from tests.support.neira_http import error_message, server_url

DEMO = models.demo_llm_path()  # the demo extra is part of the test setup
DEMO_FALLBACK = models.demo_fallback_path()

PRIMARY, FALLBACK = "demo-primary", "demo-fallback"
PROMPT = "Name a colour."

Generate = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]



@pytest.fixture
def memory_file(tmp_path: Path) -> Path:
    path = tmp_path / "memory.json"
    write_memory(path, PLENTY)
    return path


@pytest.fixture
def neira_config(
    request: pytest.FixtureRequest, tmp_path: Path, memory_file: Path
) -> dict[str, Any]:
    """Two real models and a test-controlled memory reading; ``param`` breaks files."""
    assert DEMO is not None and DEMO_FALLBACK is not None
    broken: dict[str, str] = getattr(request, "param", {})
    paths = {"primary": str(DEMO), "fallback": str(DEMO_FALLBACK)}
    for role, how in broken.items():
        target = tmp_path / f"{role}.gguf"
        if how == "corrupt":
            target.write_bytes(b"GGUF" + b"\xff" * 4096)
        paths[role] = str(target)  # "missing": never created
    return {
        "primary_path": paths["primary"],
        "primary_model": PRIMARY,
        "primary_context": 1024,
        "fallback_path": paths["fallback"],
        "fallback_model": FALLBACK,
        "fallback_context": 512,
        "memory_source": f"file:{memory_file}",
        "memory_interval": 0.05,
        "memory_low_mib": 2000,
        "memory_recover_mib": 4000,
        "memory_recover_seconds": 1.0,
        "local_timeout_ms": 0,
        "queue_size": 64,
        "max_jobs_per_user": 0,  # twenty requests of one user at once
    }



def model_state(status: dict[str, Any], role: str) -> str:
    return next(str(m["state"]) for m in status["models"] if m["role"] == role)


def settled(status: dict[str, Any]) -> bool:
    return all(m["state"] != "loading" for m in status["models"])


@pytest.fixture
def generate(
    jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> Iterator[Generate]:
    """``POST api/generate`` (not streamed) with the server's token; returns (code, body)."""
    clients: list[AsyncHTTPClient] = []

    async def post(**body: Any) -> tuple[int, dict[str, Any]]:
        if not clients:
            clients.append(AsyncHTTPClient(force_instance=True, max_clients=32))
        request = HTTPRequest(
            server_url(jp_http_port, jp_base_url, "neira", "api", "generate"),
            method="POST",
            headers={**jp_auth_header, "Content-Type": "application/json"},
            body=json.dumps(
                {"prompt": PROMPT, "max_tokens": 8, "temperature": 0, "stream": False, **body}
            ),
            connect_timeout=300,
            request_timeout=300,
        )
        response = await clients[0].fetch(request, raise_error=False)
        return response.code, json.loads(response.body or b"{}")

    yield post
    for client in clients:
        client.close()


async def test_pressure_moves_new_requests_to_the_fallback_and_back(
    jp_fetch: Fetch,
    memory_file: Path,
    generate: Generate,
) -> None:
    status = await wait_for(jp_fetch, lambda s: model_state(s, "primary") == "ready")
    assert status["route"]["backend"] == "primary"
    assert status["memory"]["source"] == f"file:{memory_file}"
    assert status["memory"]["level"] == "ok"
    code, done = await generate()
    assert code == 200 and (done["route"], done["model"]) == ("primary", PRIMARY)

    write_memory(memory_file, SCARCE)
    status = await wait_for(jp_fetch, lambda s: s["route"]["backend"] == "fallback")
    assert status["memory"]["level"] == "high"
    assert status["memory"]["free_mib"] == SCARCE
    assert "memory pressure high" in status["route"]["reason"]
    switch = status["switches"][-1]
    assert (switch["from"], switch["to"]) == ("primary", "fallback")
    assert "memory pressure" in switch["reason"] and switch["time"] > 0

    code, done = await generate()
    assert code == 200 and (done["route"], done["model"]) == ("fallback", FALLBACK)
    assert "memory pressure" in done["route_reason"]
    # the primary gives its memory back once nothing runs on it
    status = await wait_for(jp_fetch, lambda s: model_state(s, "primary") == "unloaded")
    assert model_state(status, "fallback") == "ready"

    write_memory(memory_file, RECOVERED)
    status = await wait_for(jp_fetch, lambda s: s["route"]["backend"] == "primary")
    assert status["memory"]["level"] == "ok"
    assert model_state(status, "primary") == "ready"
    assert [(s["from"], s["to"]) for s in status["switches"]][-2:] == [
        ("primary", "fallback"),
        ("fallback", "primary"),
    ]
    code, done = await generate()
    assert code == 200 and (done["route"], done["model"]) == ("primary", PRIMARY)
    status = await wait_for(jp_fetch, lambda s: model_state(s, "fallback") == "unloaded")


@pytest.mark.parametrize(
    "neira_config, expected_error",
    [({"primary": "missing"}, "not found"), ({"primary": "corrupt"}, "Failed to load")],
    indirect=["neira_config"],
)
async def test_a_broken_primary_file_leaves_the_fallback_serving(
    jp_fetch: Fetch,
    expected_error: str,
    generate: Generate,
) -> None:
    # Ask at once, while the primary may still be failing to load: the request
    # must still be answered, by the fallback.
    code, done = await generate()
    assert code == 200 and (done["route"], done["model"]) == ("fallback", FALLBACK)
    status = await wait_for(jp_fetch, lambda s: model_state(s, "primary") == "failed")
    primary = next(m for m in status["models"] if m["role"] == "primary")
    assert primary["error"] and expected_error in primary["error"]
    assert status["route"]["backend"] == "fallback"
    assert f"primary {PRIMARY!r} failed to load" in status["route"]["reason"]
    assert primary["error"] in status["route"]["reason"]
    code, done = await generate()
    assert code == 200 and done["route"] == "fallback"
    assert "failed to load" in done["route_reason"]


@pytest.mark.parametrize(
    "neira_config", [{"primary": "corrupt", "fallback": "missing"}], indirect=True
)
async def test_no_loadable_model_means_degraded(
    jp_fetch: Fetch,
    generate: Generate,
) -> None:
    status = await wait_for(jp_fetch, lambda s: settled(s) and s["route"]["backend"] == "degraded")
    assert "no language model can serve" in status["route"]["reason"]
    assert {model_state(status, "primary"), model_state(status, "fallback")} == {"failed"}

    response = await jp_fetch(
        "neira", "api", "correct", method="POST", body=json.dumps({"text": "helo wrld"})
    )
    correction = json.loads(response.body)
    assert correction["corrected"] == correction["raw"] == "helo wrld"
    assert correction["degraded"] is True
    assert "no language model can serve" in correction["reason"]

    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "neira", "api", "generate", method="POST", body=json.dumps({"prompt": PROMPT})
        )
    assert info.value.code == 503
    message = error_message(info.value)
    assert message.startswith("no language model can serve: primary")
    assert "fallback" in message


async def test_twenty_concurrent_requests_across_a_switch_all_complete(
    jp_fetch: Fetch,
    memory_file: Path,
    generate: Generate,
) -> None:
    await wait_for(jp_fetch, lambda s: model_state(s, "primary") == "ready")

    def launch(n: int) -> list[asyncio.Task[tuple[int, dict[str, Any]]]]:
        return [asyncio.ensure_future(generate(max_tokens=12, seed=i)) for i in range(n)]

    before = launch(10)
    # all ten admitted on the primary's lane (or already answered) before the pressure
    # comes; answered ones are counted before the status is read, so none counts twice
    for _ in range(6000):
        answered = sum(task.done() for task in before)
        lane = (await get_status(jp_fetch))["queue"]["lanes"][PRIMARY]
        if answered + lane["queued"] + lane["running"] == 10:
            break
        await asyncio.sleep(0.02)
    else:
        raise TimeoutError("the first ten requests were not all admitted")
    write_memory(memory_file, SCARCE)
    await wait_for(jp_fetch, lambda s: s["route"]["backend"] == "fallback")
    after = launch(10)
    results = await asyncio.gather(*before, *after)

    assert [code for code, _ in results] == [200] * 20
    assert all(done["finish_reason"] in {"stop", "length"} for _, done in results)
    assert [done["model"] for _, done in results[:10]] == [PRIMARY] * 10
    assert [done["model"] for _, done in results[10:]] == [FALLBACK] * 10
    assert [done["route"] for _, done in results] == ["primary"] * 10 + ["fallback"] * 10
    status = await wait_for(jp_fetch, lambda s: model_state(s, "primary") == "unloaded")
    assert status["queue"]["depth"] == 0 and status["queue"]["running"] == 0
