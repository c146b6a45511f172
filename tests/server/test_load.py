"""A small mixed load on a live server: every request is answered 200/204 or 429 + Retry-After.

The same load as ``benchmarks/bench_load.py`` (streamed and whole generations,
corrections, transcriptions, cancels, clients that leave mid-stream) at a size
the suite can afford, with a small queue so that admission is exercised too.
Afterwards nothing is left queued or running and no model counts a failure.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Fetch, get_status, wait_ready
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.load_mix import KINDS, run_load

CLIENTS = 6


@pytest.fixture
def neira_config() -> dict[str, Any]:
    # This load checks accounting, not latency: with six clients on a small CPU a quick
    # request waits seconds behind the others' prompts, a slow start the first-token
    # budget rightly counts (test_budget), so the budget is off here.
    return {"queue_size": 4, "local_timeout_ms": 0}


async def test_mixed_load_is_fully_accounted_for(
    jp_fetch: Fetch,
    jp_serverapp: Any,
    jp_http_port: int,
    jp_base_url: str,
    audio_dir: Path,
) -> None:
    await wait_ready(jp_fetch)
    wav = speak(SENTENCES["en"][0], "en", audio_dir).read_bytes()
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    token = jp_serverapp.identity_provider.token
    outcomes = await run_load(base, token, wav, clients=CLIENTS, requests=len(KINDS))

    assert len(outcomes) == CLIENTS * len(KINDS)
    refused = [o for o in outcomes if not o.accepted]
    assert not refused, refused
    assert {o.kind for o in outcomes if o.status == 200} == set(KINDS)

    for _ in range(100):  # abandoned streams are cancelled as their sockets close
        status = await get_status(jp_fetch)
        if status["queue"]["running"] == 0 and status["queue"]["depth"] == 0:
            break
        await asyncio.sleep(0.1)
    assert status["queue"]["running"] == 0
    assert status["queue"]["depth"] == 0
    assert all(b["failures"] == 0 for b in status["backends"].values())
