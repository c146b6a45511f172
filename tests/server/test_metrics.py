"""neira's Prometheus metrics, scraped from a real server's ``/metrics``.

Real work (a generation, a transcription with its correction, a correction)
runs on the demo models; ``/metrics`` is fetched with the server's token and
read with ``prometheus_client``'s own text parser. Counters are per process
and pytest-jupyter starts several servers in one, so every check compares a
scrape after the work with one before it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tornado.httpclient import HTTPClientError

from neira_jupyter.engine import models
from neira_jupyter.engine.models import DEMO_LLM_NAME
from tests.conftest import Fetch, get_status, wait_ready
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.helpers import wait_for
from tests.support.memory_file import SCARCE, write_memory
from tests.support.neira_http import fetch_raw

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(jp_fetch: Fetch) -> tuple[Samples, dict[str, str]]:
    """Every sample of ``/metrics`` by (name, labels), and each family's type."""
    response = await jp_fetch("metrics", method="GET")
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(response.body.decode()):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, types


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def post(jp_fetch: Fetch, path: str, body: Any) -> Any:
    response = await jp_fetch(
        "neira", "api", path, method="POST", body=json.dumps(body), request_timeout=300
    )
    return json.loads(response.body)


async def test_real_work_moves_the_neira_metrics(jp_fetch: Fetch, audio_dir: Path) -> None:
    await wait_ready(jp_fetch)
    before, _ = await scrape(jp_fetch)

    done = await post(jp_fetch, "generate", {"prompt": "Say hi.", "max_tokens": 8, "stream": False})
    with pytest.raises(HTTPClientError) as refused:
        await post(jp_fetch, "generate", {"prompt": "hi", "max_tokens": -1})
    assert refused.value.code == 400
    wav = speak(SENTENCES["en"][1], "en", audio_dir)
    response = await jp_fetch(
        "neira", "api", "transcribe", method="POST", body=wav.read_bytes(),
        headers={"Content-Type": "audio/wav"}, params={"language": "en"}, request_timeout=300,
    )  # fmt: skip
    transcribed = json.loads(response.body)
    corrected = await post(jp_fetch, "correct", {"text": "hello how are you", "language": "en"})

    after, types = await scrape(jp_fetch)
    model = {"model": DEMO_LLM_NAME}
    tokens = done["usage"]["completion_tokens"]
    assert tokens > 0
    # the generation plus the two corrections' generations, all counted in the engine
    assert moved(before, after, "neira_generated_tokens_total", **model) >= tokens
    assert moved(before, after, "neira_generations_total", backend="primary", **model) == 3
    assert moved(before, after, "neira_time_to_first_token_seconds_count", **model) == 3
    assert moved(before, after, "neira_tokens_per_second_count", **model) == 3
    assert moved(before, after, "neira_transcription_real_time_factor_count") == 1
    assert moved(before, after, "neira_transcription_real_time_factor_sum") > 0
    assert moved(before, after, "neira_transcribed_audio_seconds_total") > 1.0
    for document in (transcribed["correction"], corrected):
        outcome = "degraded" if document["degraded"] else (
            "changed" if document["corrected"] != document["raw"] else "unchanged"
        )  # fmt: skip
        assert value(after, "neira_corrections_total", outcome=outcome) >= 1
    assert moved(before, after, "neira_corrections_total") == 2
    assert moved(before, after, "neira_corrections_total", outcome="degraded", reason="none") == 0

    for route, outcome, count in [
        ("generate", "2xx", 1), ("generate", "4xx", 1), ("transcribe", "2xx", 1),
        ("correct", "2xx", 1),
    ]:  # fmt: skip
        assert moved(before, after, "neira_requests_total", route=route, outcome=outcome) == count
    assert moved(before, after, "neira_requests_total", route="status", outcome="2xx") == 0

    assert types["neira_time_to_first_token_seconds"] == "histogram"
    assert types["neira_queue_depth"] == "gauge"
    assert ("neira_queue_depth", frozenset({("lane", DEMO_LLM_NAME)})) in after
    assert value(after, "neira_running_jobs") == 0
    assert value(after, "neira_model_memory_bytes", role="primary", **model) > 0
    assert value(after, "neira_route", backend="primary") == 1
    assert value(after, "neira_memory_free_bytes") > 0
    # per-user counters are off by default
    assert moved(before, after, "neira_user_requests_total") == 0


async def test_metrics_need_the_token(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str
) -> None:
    await get_status(jp_fetch)  # the server is up
    response = await fetch_raw(jp_http_port, jp_base_url, "metrics")
    assert response.code == 403
    assert b"neira_" not in (response.body or b"")


@pytest.mark.parametrize("neira_config", [{"metrics_per_user": True, "llm_enabled": False}])
async def test_per_user_counters_when_enabled(jp_fetch: Fetch, jp_ws_fetch: Any) -> None:
    before, _ = await scrape(jp_fetch)
    socket = await jp_ws_fetch("neira", "api", "generate", "ws")
    socket.close()
    degraded = await post(jp_fetch, "correct", {"text": "привет как дела", "language": "ru"})
    assert degraded["degraded"] is True
    after, _ = await scrape(jp_fetch)
    assert moved(before, after, "neira_requests_total", route="generate/ws", outcome="1xx") == 1
    user = {"user": "owner"}  # without isolate_users every request is the owner's
    assert moved(before, after, "neira_user_requests_total", kind="correction", **user) == 1
    assert moved(
        before, after, "neira_corrections_total", outcome="degraded", reason="no_model"
    ) == 1  # fmt: skip


@pytest.fixture
def neira_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Primary and fallback demo models, memory read from a file the test rewrites."""
    config: dict[str, Any] = getattr(request, "param", {})
    if config:
        return config
    memory = tmp_path / "memory.json"
    write_memory(memory, 8000)
    return {
        "fallback_path": str(models.demo_fallback_path()),
        "fallback_model": "demo-fallback",
        "fallback_context": 512,
        "memory_source": f"file:{memory}",
        "memory_interval": 0.05,
        "memory_low_mib": 2000,
        "memory_recover_mib": 4000,
        "correction_timeout": 600,  # two cores shared with other work: never time out here
    }


async def test_route_switch_is_counted(jp_fetch: Fetch, tmp_path: Path) -> None:
    await wait_ready(jp_fetch)
    status = await get_status(jp_fetch)
    primary = status["route"]["backend"]
    assert primary == "primary"
    before, _ = await scrape(jp_fetch)
    write_memory(tmp_path / "memory.json", SCARCE)
    await wait_for(jp_fetch, lambda s: s["route"]["backend"] == "fallback")
    after, _ = await scrape(jp_fetch)
    switch = {"from": "primary", "to": "fallback"}
    assert moved(before, after, "neira_route_switches_total", **switch) == 1
    assert value(after, "neira_route", backend="fallback") == 1
    assert value(after, "neira_route", backend="primary") == 0
