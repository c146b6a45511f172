"""``examples/openai_clients.ipynb`` run cell by cell in a kernel that the server launched.

The kernel finds the server as the magics do (``JPY_PARENT_PID`` and the
runtime file), then talks to ``neira/v1/`` with the ``openai`` package and
LangChain, as ``test_magics_e2e`` runs the quickstart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.conftest import Fetch
from tests.support.kernels import Execution, neira_kernel

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "openai_clients.ipynb"


@pytest.mark.usefixtures("kernel_env")
@pytest.mark.timeout(600)
async def test_openai_clients_notebook_runs_in_a_server_kernel(
    jp_fetch: Fetch, jp_ws_fetch: Any
) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    runs: list[tuple[str, Execution]] = []
    async with neira_kernel(jp_fetch, jp_ws_fetch, load=False) as kernel:
        for cell in notebook.cells:
            if cell.cell_type == "code":
                run = await kernel.execute(cell.source)
                assert run.ok, (cell.source, run.describe())
                runs.append((cell.source, run))
    shown = {source.splitlines()[0]: run for source, run in runs}
    assert "/neira/v1" in shown["from neira_jupyter.kernel.discovery import find_server"].stdout
    error = shown["import openai"].stdout
    assert error.startswith("404 model_not_found"), error
    assert "corrected:" in shown['with open("speech.wav", "rb") as audio:'].stdout
    streamed = shown["for piece in chat.stream(\"Name three primary colours.\"):"].stdout
    assert streamed.strip(), streamed
    assert len(runs) >= 12
