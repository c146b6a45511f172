"""The demo models out of the box (issue 10): a real server, a real kernel, ``%%neira``.

A new user's first question must get a sensible answer from the demo LLM
(Qwen2.5-Coder-0.5B-Instruct), and status must say which demo models run.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from neira_jupyter.engine import models
from tests.conftest import Fetch, wait_ready
from tests.support.kernels import neira_kernel

pytestmark = pytest.mark.usefixtures("kernel_env")

PLANETS = {"mercury", "venus", "earth", "mars", "jupiter", "saturn", "uranus", "neptune"}


async def test_neira_names_three_planets(jp_fetch: Fetch, jp_ws_fetch: Any) -> None:
    async with neira_kernel(jp_fetch, jp_ws_fetch) as kernel:
        run = await kernel.execute(
            "%%neira --out answer --temperature 0 --max-tokens 64\n"
            "Name three planets of the solar system."
        )
        assert run.ok, run.describe()
        check = await kernel.execute("print(answer.model); print(answer.text)")
    model, _, text = check.stdout.partition("\n")
    assert model == models.DEMO_LLM_NAME
    named = PLANETS & set(re.findall(r"[a-z]+", text.lower()))
    assert len(named) >= 3, text


async def test_status_names_the_demo_models(jp_fetch: Fetch) -> None:
    status = await wait_ready(jp_fetch)
    assert status["demo"] is True
    roles = {m["role"]: m["name"] for m in status["models"]}
    assert roles["primary"] == models.DEMO_LLM_NAME
    assert roles["fallback"] == models.DEMO_FALLBACK_NAME
    assert roles["speech"] == models.DEMO_SPEECH_NAME
    notes = " ".join(status["notes"])
    assert "Qwen2.5-Coder-0.5B-Instruct" in notes and "SmolLM2-135M-Instruct" in notes
    assert "Whisper base (multilingual" in notes
