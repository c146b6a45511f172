"""Jupyter AI 3's chat agent, Jupyternaut, on the shared engine through LiteLLM.

Jupyter AI 3 talks to models through LiteLLM; a user points Jupyternaut at
neira by picking the model ``openai/<name>`` with ``api_base`` set to
``neira/v1`` and the server's token as the key. jupyter-ai 3 needs langchain
1.x and LiteLLM, which do not share the project's venv, so the agent runs in
``.venv-jupyter-ai3`` (made by scripts/setup.sh; another interpreter with
``NEIRA_JUPYTER_AI3_PYTHON``) as ``tests/clients/jupyternaut_agent.py``: it
drives Jupyternaut's own agent code with its full system prompt and one
Python tool, and reports what happened.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from neira_jupyter.engine.models import DEMO_LLM_NAME
from tests.conftest import Fetch, wait_ready

REPO = Path(__file__).resolve().parents[2]
AGENT = REPO / "tests" / "clients" / "jupyternaut_agent.py"


def jupyter_ai3_python() -> Path:
    """The interpreter of the venv that has jupyter-ai 3 (see scripts/setup.sh)."""
    default = REPO / ".venv-jupyter-ai3/bin/python"
    python = Path(os.environ.get("NEIRA_JUPYTER_AI3_PYTHON") or default)
    assert python.exists(), f"{python} is missing: run scripts/setup.sh (it makes it)"
    return python


@pytest.fixture
def neira_config() -> dict[str, Any]:
    # Jupyternaut's system prompt alone is about 3,300 tokens: more than the
    # demo model's default context of 2048 (docs/openai.md says so).
    return {"demo_context": 8192}


@pytest.mark.timeout(900)
async def test_jupyternaut_calls_a_tool_and_answers_in_a_schema(
    jp_fetch: Fetch, v1_url: str, token: str
) -> None:
    await wait_ready(jp_fetch)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # its own venv only
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # LiteLLM would fetch a price list online
    question = "What is 6 times 7? Use the multiply tool."
    process = await asyncio.create_subprocess_exec(
        str(jupyter_ai3_python()), str(AGENT), v1_url, token, DEMO_LLM_NAME, question,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()[-3000:]
    report = json.loads(out)
    # The agent asked for the tool through v1 tool_calls, LangChain ran it, and
    # the result went back as a tool message that the model answered.
    assert report["calls"] == [{"a": 6, "b": 7}], report
    kinds = [m["type"] for m in report["messages"]]
    assert kinds == ["human", "ai", "tool", "ai"], report["messages"]
    [call] = report["messages"][1]["tool_calls"]
    assert call["name"] == "multiply" and call["args"] == {"a": 6, "b": 7}
    assert report["messages"][2]["content"] == "42"
    final = report["messages"][3]
    assert not final["tool_calls"]
    # What Jupyternaut streamed into the chat is the final answer's text, whole.
    text = "".join(
        part["text"] if isinstance(part, dict) else part
        for part in (final["content"] if isinstance(final["content"], list) else [final["content"]])
    )
    assert text.strip() and report["streamed"] == text, report
    # LiteLLM's json_schema response format: the answer parses into the model's class
    colour = report["structured"]
    assert isinstance(colour, dict) and set(colour) == {"name", "position"}, colour
    assert colour["name"].strip() and isinstance(colour["position"], int)
