"""Every notebook in ``examples/`` runs cell by cell in a real server kernel.

A notebook's folder is copied into the server's root, a kernel is started for
it the way JupyterLab starts one (so its working directory is the notebook's
folder and it finds the server by itself), and each code cell must finish
without an error (cells tagged ``raises-exception`` must raise) and without
one of the magics' user-facing failure messages. New notebooks are picked up
by themselves; ``RUN_ELSEWHERE`` names the ones another test runs with
checks of its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.conftest import Fetch, wait_ready
from tests.support.kernels import USER_FACING_ERRORS, ServerKernel

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
RUN_ELSEWHERE = {"quickstart.ipynb": "tests/kernel/test_magics_e2e.py"}
NOTEBOOKS = sorted(p.name for p in EXAMPLES.glob("*.ipynb") if p.name not in RUN_ELSEWHERE)



def test_every_example_is_run_somewhere() -> None:
    assert {"dictation_and_correction.ipynb", "memory_pressure.ipynb"} <= set(NOTEBOOKS)
    assert set(NOTEBOOKS) | set(RUN_ELSEWHERE) == {p.name for p in EXAMPLES.glob("*.ipynb")}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", NOTEBOOKS)
async def test_example_notebook_runs(
    name: str, kernel_env: None, jp_fetch: Fetch, jp_ws_fetch: Any, jp_root_dir: Path
) -> None:
    shutil.copytree(EXAMPLES, jp_root_dir / "examples")
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    await wait_ready(jp_fetch)
    kernel = await ServerKernel.start(jp_fetch, jp_ws_fetch, f"examples/{name}")
    try:
        ran = 0
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            run = await kernel.execute(cell.source)
            ran += 1
            expected_error = "raises-exception" in cell.metadata.get("tags", [])
            assert run.ok != expected_error, (cell.source, run.describe())
            for message in USER_FACING_ERRORS:
                assert message not in run.stderr, (cell.source, run.stderr)
                for display in run.displays():
                    assert message not in str(display.get("data", {})), (cell.source, display)
        assert ran >= 5
    finally:
        await kernel.shutdown()
