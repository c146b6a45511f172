"""The quick first-token budget measures a slow start, not a long prompt's evaluation.

The batch loop reports when each prompt's evaluation began and ended
(``prompt_ms``); the budget (``local_timeout_ms``) counts the rest of the wait
for the first token, and only for a request that had the model to itself: its
own long prompt is not a slow start, and neither is waiting behind another
request's prompt (that is load, and another model on the same cores would not
help). A request alone that still misses the budget trips the model.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.conftest import Fetch, get_status, wait_ready

TEXT = "the quick brown fox jumps over the lazy dog. "


async def generate(jp_fetch: Fetch, prompt: str, max_tokens: int, **fields: Any) -> dict[str, Any]:
    body = {"prompt": prompt, "max_tokens": max_tokens, "stream": False, **fields}
    response = await jp_fetch(
        "neira", "api", "generate", method="POST", body=json.dumps(body), request_timeout=300
    )
    document: dict[str, Any] = json.loads(response.body)
    return document


def prefilling(status: dict[str, Any]) -> int:
    primary = next(m for m in status["models"] if m["role"] == "primary")
    return int(primary["batch"]["prefilling"])


@pytest.fixture
def neira_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    # by default a budget far below a long prompt's evaluation, far above one decoding step
    return {"local_timeout_ms": getattr(request, "param", 150)}


async def test_a_long_prompt_is_not_a_slow_start(jp_fetch: Fetch) -> None:
    await wait_ready(jp_fetch)
    text = TEXT * 60
    for attempt in range(3):  # more than max_local_attempts
        # a new first word each time, so no cached prefix spares the evaluation
        prompt = f"{['Summarise', 'Shorten', 'Condense'][attempt]} in one word: {text}"
        response = await jp_fetch(
            "neira",
            "api",
            "generate",
            method="POST",
            body=json.dumps({"prompt": prompt, "max_tokens": 2, "stream": False}),
            request_timeout=300,
        )
        document = json.loads(response.body)
        assert document["route"] == "primary"
        assert document["timings"]["first_token_ms"] > 150  # the prompt took longer than that
    status = await get_status(jp_fetch)
    assert status["backends"]["primary"]["failures"] == 0
    assert status["route"]["backend"] == "primary"


async def test_a_quick_request_behind_a_long_prompt_is_load_not_a_slow_model(
    jp_fetch: Fetch,
) -> None:
    await wait_ready(jp_fetch)
    # not quick (more than quick_max_tokens): its prompt fills several steps of the batch
    long = asyncio.ensure_future(generate(jp_fetch, f"Summarise: {TEXT * 150}", 65))
    while not prefilling(await get_status(jp_fetch)):
        assert not long.done(), "the long prompt was read before the quick request came"
        await asyncio.sleep(0.02)
    quick = await generate(jp_fetch, "Say hi.", 2)  # its prompt waits for the long one's
    await long
    assert quick["route"] == "primary"
    primary = (await get_status(jp_fetch))["backends"]["primary"]
    assert primary["failures"] == 0 and primary["last_failure"] is None


@pytest.mark.parametrize("neira_config", [1], indirect=True)  # a 1 ms budget
async def test_a_quick_request_alone_that_misses_the_budget_trips_the_model(
    jp_fetch: Fetch,
) -> None:
    await wait_ready(jp_fetch)
    for _ in range(2):  # max_local_attempts
        # A plain start beyond the prompt can take under 1 ms (template, tokens, one
        # sample); a grammar's first sample, which checks the whole vocabulary, takes
        # tens of ms: a start that is slow whatever the machine.
        answer = await generate(jp_fetch, "Say hi.", 2, json_schema={"type": "object"})
        assert answer["route"] == "primary"
    status = await get_status(jp_fetch)
    assert status["backends"]["primary"]["last_failure"].startswith("first token after")
    assert status["route"]["backend"] == "fallback"
