"""``v1/completions`` with a ``suffix``: the gap filled by the demo model's own FIM tokens.

Through the official ``openai`` client, as editors (Continue and others) send
fill-in-the-middle: whole and streamed, the suffix never repeated, the
prompt's cached prefix reused by the next keystroke.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from openai import OpenAI

from neira_jupyter.engine.models import DEMO_LLM_NAME
from tests.conftest import Fetch, wait_ready

PREFIX = "def add(a, b):\n    return "
SUFFIX = "\n\nprint(add(1, 2))\n"


async def test_suffix_fills_the_gap_whole_and_streamed(jp_fetch: Fetch, client: OpenAI) -> None:
    await wait_ready(jp_fetch)
    settings: dict[str, Any] = {
        "model": DEMO_LLM_NAME,
        "prompt": PREFIX,
        "suffix": SUFFIX,
        "max_tokens": 24,
        "temperature": 0,
    }
    whole = await asyncio.to_thread(functools.partial(client.completions.create, **settings))
    assert whole.choices[0].text == "a + b"
    assert whole.choices[0].finish_reason == "stop"

    def streamed() -> list[str]:
        stream = client.completions.create(**settings, stream=True)
        return [c.choices[0].text for c in stream if c.choices]

    pieces = await asyncio.to_thread(streamed)
    assert "".join(pieces) == "a + b"
    assert "print" not in "".join(pieces)  # the model ran on into the suffix: cut


async def test_a_gap_inside_a_line_keeps_only_its_own_brackets(
    jp_fetch: Fetch, client: OpenAI
) -> None:
    await wait_ready(jp_fetch)
    answer = await asyncio.to_thread(
        client.completions.create,
        model=DEMO_LLM_NAME,
        prompt="import numpy as np\n\nx = np.arange(10)\nprint(np.mean(",
        suffix="))\n",
        max_tokens=16,
        temperature=0,
    )
    text = answer.choices[0].text
    assert text == "x"
