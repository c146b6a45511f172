"""The quick first-token budget measures a slow start, not a long prompt's evaluation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Fetch, get_status, wait_ready


@pytest.fixture
def neira_config() -> dict[str, Any]:
    # a budget far below a long prompt's evaluation, far above one decoding step
    return {"local_timeout_ms": 150}


async def test_a_long_prompt_is_not_a_slow_start(jp_fetch: Fetch) -> None:
    await wait_ready(jp_fetch)
    text = "the quick brown fox jumps over the lazy dog. " * 60
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
