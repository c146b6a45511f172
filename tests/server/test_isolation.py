"""One user's bad request never hurts anyone else (issue 9's regressions).

A real server with the real demo models. Each test first sends what used to
break the server, then shows that the model is still healthy for the next
request and that nothing else was held up.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.conftest import Fetch, get_status, wait_ready
from tests.support.helpers import post_json

# a lone surrogate is valid JSON ("\ud800") but not valid Unicode text
LONE_SURROGATE = json.loads('"\\ud800"')


def message_of(response: Any) -> str:
    return str(json.loads(response.body)["message"])


@pytest.mark.parametrize("stream", [False, True])
async def test_invalid_text_is_a_400_and_the_model_stays_healthy(
    jp_fetch: Fetch, stream: bool
) -> None:
    await wait_ready(jp_fetch)
    body = {"prompt": LONE_SURROGATE, "max_tokens": 4, "stream": stream}
    for _ in range(3):  # more than max_local_attempts
        response = await post_json(jp_fetch, "generate", body, raise_error=False)
        assert response.code == 400, response.body
        assert "prompt" in message_of(response)
    status = await get_status(jp_fetch)
    primary = status["backends"]["primary"]
    assert primary["failures"] == 0
    answer = await post_json(
        jp_fetch, "generate", {"prompt": "Hi", "max_tokens": 2, "stream": False}, raise_error=False
    )
    assert answer.code == 200, answer.body
    assert json.loads(answer.body)["route"] == "primary"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"messages": [{"role": "user", "content": "a\x00b"}]}, "messages[0].content"),
        ({"prompt": "ok", "system": LONE_SURROGATE}, "system"),
        ({"prompt": "ok", "stop": [LONE_SURROGATE]}, "stop"),
    ],
)
async def test_invalid_text_in_any_field_names_the_field(
    jp_fetch: Fetch, body: dict[str, Any], field: str
) -> None:
    response = await post_json(
        jp_fetch, "generate", {**body, "max_tokens": 2, "stream": False}, raise_error=False
    )
    assert response.code == 400, response.body
    assert field in message_of(response)


async def test_invalid_correct_text_is_a_400(jp_fetch: Fetch) -> None:
    response = await post_json(jp_fetch, "correct", {"text": LONE_SURROGATE}, raise_error=False)
    assert response.code == 400, response.body
    assert "text" in message_of(response)


async def test_a_rejected_chat_sequence_is_a_400(jp_fetch: Fetch) -> None:
    """Two system messages after a user turn: templates that refuse it answer 400, not 500."""
    await wait_ready(jp_fetch)
    messages = [{"role": "assistant", "content": "x"}] * 2
    response = await post_json(
        jp_fetch,
        "generate",
        {"messages": messages, "max_tokens": 2, "stream": False},
        raise_error=False,
    )
    assert response.code in {200, 400}, response.body
    status = await get_status(jp_fetch)
    assert all(b["failures"] == 0 for b in status["backends"].values())


async def test_status_answers_while_the_largest_correct_runs(jp_fetch: Fetch) -> None:
    """The word diff of a huge correction runs off the event loop."""
    await wait_ready(jp_fetch)
    limit = 100_000  # RequestLimits.max_prompt_chars
    words = ("да нет " * (limit // 7)).strip()
    correct = asyncio.ensure_future(
        post_json(jp_fetch, "correct", {"text": words}, raise_error=False)
    )
    answered_while_running = 0
    while not correct.done():
        await get_status(jp_fetch)
        if not correct.done():
            answered_while_running += 1
        await asyncio.sleep(0.05)
    response = await correct
    assert response.code == 200, response.body
    assert json.loads(response.body)["raw"] == words
    assert answered_while_running >= 1


async def test_unauthenticated_is_refused_before_the_body_is_read(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str
) -> None:
    from tests.support.neira_http import fetch_raw

    response = await fetch_raw(
        jp_http_port,
        jp_base_url,
        "neira/api/transcribe",
        method="POST",
        body=b"\0" * (4 * 1024 * 1024),
        headers={"Content-Type": "audio/wav"},
    )
    assert response.code == 403


async def test_cancel_of_someone_elses_id_is_404(jp_fetch: Fetch) -> None:
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("neira", "api", "requests", "not-mine", method="DELETE")
    assert error.value.code == 404
