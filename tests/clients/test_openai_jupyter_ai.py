"""jupyter-ai's ``%%ai`` magic (jupyter-ai-magics 2.x) in a real kernel, served by ``neira/v1/``.

jupyter-ai-magics 2.x needs langchain 0.3, which cannot share the project's
venv (langchain-openai 1.x needs langchain-core 1.x), so the kernel runs
from a second venv, ``.venv-clients`` (made by scripts/setup.sh; another
interpreter with ``NEIRA_CLIENTS_PYTHON``). The kernel is started by
jupyter_client from a kernelspec in a temporary folder (nothing is
registered globally); the magic is configured as a user would: the
``openai-chat-custom`` provider, ``OPENAI_API_KEY`` set to the server's token
and ``openai_api_base`` passed with ``-m``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

from neira_jupyter.engine.models import DEMO_LLM_NAME
from tests.conftest import Fetch, wait_ready

REPO = Path(__file__).resolve().parents[2]
KERNEL_NAME = "neira-clients"


def clients_python() -> Path:
    """The interpreter of the venv that has jupyter-ai-magics (see scripts/setup.sh)."""
    python = Path(os.environ.get("NEIRA_CLIENTS_PYTHON") or REPO / ".venv-clients/bin/python")
    assert python.exists(), f"{python} is missing: run scripts/setup.sh (it makes .venv-clients)"
    return python


async def run(kernel: Any, code: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Execute ``code``; the reply's content and the iopub messages it caused."""
    outputs: list[dict[str, Any]] = []
    reply = await kernel.execute_interactive(code, output_hook=outputs.append, timeout=400)
    return reply["content"], outputs


def shown_text(outputs: list[dict[str, Any]]) -> str:
    kinds = ("display_data", "execute_result", "stream")
    parts = []
    for message in outputs:
        if message["header"]["msg_type"] in kinds:
            content = message["content"]
            parts.append(content.get("text") or content.get("data", {}).get("text/plain", ""))
    return "".join(parts)


@pytest.mark.timeout(600)
async def test_ai_magic_answers_through_neira(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, jp_serverapp: Any, tmp_path: Path
) -> None:
    await wait_ready(jp_fetch)
    spec = tmp_path / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    argv = [str(clients_python()), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "neira clients", "language": "python"})
    )
    specs = KernelSpecManager(kernel_dirs=[str(spec.parent)])
    manager = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)
    env = {**os.environ, "OPENAI_API_KEY": jp_serverapp.identity_provider.token}
    env.pop("PYTHONPATH", None)  # the kernel uses only its own venv
    await manager.start_kernel(env=env)
    kernel = manager.client()
    kernel.start_channels()
    try:
        await kernel.wait_for_ready(timeout=120)
        loaded, outputs = await run(kernel, "%load_ext jupyter_ai_magics")
        assert loaded["status"] == "ok", (loaded, shown_text(outputs))
        base = f"http://localhost:{jp_http_port}{jp_base_url}neira/v1"
        parameters = json.dumps(
            {"openai_api_base": base, "max_tokens": 16, "temperature": 0, "max_retries": 0},
            separators=(",", ":"),  # the magic splits its line on spaces
        )
        cell = (
            f"%%ai openai-chat-custom:{DEMO_LLM_NAME} -f text -m {parameters}\n"
            "Name a colour of the rainbow."
        )
        answered, outputs = await run(kernel, cell)
        assert answered["status"] == "ok", (answered, shown_text(outputs))
        results = [m for m in outputs if m["header"]["msg_type"] == "execute_result"]
        assert results, shown_text(outputs)
        metadata = results[-1]["content"]["metadata"]
        assert metadata["jupyter_ai"] == {
            "provider_id": "openai-chat-custom",
            "model_id": DEMO_LLM_NAME,
        }
        answer = results[-1]["content"]["data"]["text/plain"]
        assert answer.strip() and "error" not in answer.lower(), answer
    finally:
        kernel.stop_channels()
        await manager.shutdown_kernel(now=True)
