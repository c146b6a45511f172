"""``POST api/complete`` on a real server with the demo model: code completions at the cursor.

The gap is filled in the model's own FIM tokens and streamed as NDJSON; the
other cells come first, so the next keystroke finds the prompt in the cache
(``prompt_tokens_reused``); a new completion for the same editor
(``stream_key``) cancels the previous one; sizes are limited.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.conftest import Fetch, wait_ready
from tests.support.helpers import post_json
from tests.support.neira_http import error_message, stream_generate

CELLS = [
    "import numpy as np\nvalues = np.arange(10)\n",
    "def spread(x):\n    return x.max() - x.min()\n",
]


async def complete(port: int, base_url: str, headers: dict[str, str], body: dict[str, Any]):
    return await stream_generate(port, base_url, headers, body, route="complete")


async def test_a_gap_is_filled_and_the_next_keystroke_reuses_the_prompt(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> None:
    await wait_ready(jp_fetch)
    server = (jp_http_port, jp_base_url, jp_auth_header)
    body = {"prefix": "def add(a, b):\n    return ", "suffix": "\n\nprint(add(1, 2))\n"}
    response, stream = await complete(*server, {**body, "context": CELLS, "path": "a.ipynb"})
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/x-ndjson")
    assert stream.events[0]["type"] == "start"
    done = stream.done()
    assert "".join(stream.tokens()) == done["text"] == "a + b"
    assert done["finish_reason"] == "stop"

    typed: dict[str, Any] = {
        "prefix": "print(spread(val", "suffix": ")\n", "context": CELLS, "max_tokens": 8
    }  # fmt: skip
    await complete(*server, typed)
    _, again = await complete(*server, {**typed, "prefix": typed["prefix"] + "u"})
    usage = again.done()["usage"]
    # the cells and the cell up to the keystroke were in the cache already
    assert usage["prompt_tokens_reused"] >= usage["prompt_tokens"] - 6
    assert again.done()["text"].startswith("es")

    whole = await post_json(jp_fetch, "complete", {**body, "stream": False})
    assert json.loads(whole.body)["text"] == "a + b"


async def test_a_new_completion_cancels_the_previous_one_of_the_same_editor(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> None:
    await wait_ready(jp_fetch)
    server = (jp_http_port, jp_base_url, jp_auth_header)
    started = asyncio.Event()
    long = {
        "prefix": "# the squares of 1 to 200, one per line\nsquares = [\n",
        "max_tokens": 256,
        "stream_key": "cell-1",
    }
    first = asyncio.ensure_future(
        stream_generate(*server, long, on_event=lambda e: started.set(), route="complete")
    )
    await started.wait()
    _, second = await complete(*server, {**long, "max_tokens": 4})
    _, older = await first
    assert older.done()["finish_reason"] == "cancelled"
    assert second.done()["finish_reason"] in ("stop", "length")
    # another editor's completion is left alone
    other = asyncio.ensure_future(
        stream_generate(*server, {**long, "max_tokens": 6}, route="complete")
    )
    await complete(*server, {**long, "max_tokens": 2, "stream_key": "cell-2"})
    assert (await other)[1].done()["finish_reason"] != "cancelled"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prefix": "x", "max_tokens": 1000}, "max_tokens"),
        ({"prefix": "x", "context": ["a"] * 100}, "context"),
        ({"prefix": "x", "language": "py thon"}, "language"),
        ({"prefix": "x", "stream_key": "a b"}, "stream_key"),
        ({"suffix": "x"}, "prefix"),
    ],
)
async def test_refusals(jp_fetch: Fetch, body: dict[str, Any], field: str) -> None:
    with pytest.raises(HTTPClientError) as error:
        await post_json(jp_fetch, "complete", body)
    assert error.value.code == 400
    assert field in error_message(error.value)


async def test_the_code_is_size_limited(jp_fetch: Fetch) -> None:
    await wait_ready(jp_fetch)
    with pytest.raises(HTTPClientError) as error:
        await post_json(jp_fetch, "complete", {"prefix": "x = 1\n" * 20000})
    assert error.value.code in (400, 413)
