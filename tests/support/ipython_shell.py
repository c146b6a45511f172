"""Running the magics on a bare IPython ``InteractiveShell``, as a terminal would show them.

``run`` executes a cell and captures what it printed and displayed, ``shown``
is that output as text, ``magics_of`` the loaded ``NeiraMagics`` and
``use_stub`` points the kernel's client at the stub API
(``tests/support/stub_api.py``). The ``shell`` fixture in
``tests/kernel/conftest.py`` loads the extension into a fresh shell.
"""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import CapturedIO, capture_output

from neira_jupyter.kernel.magics import NeiraMagics
from tests.support.stub_api import TOKEN


def magics_of(ip: InteractiveShell) -> NeiraMagics:
    magics = ip.magics_manager.registry["NeiraMagics"]
    assert isinstance(magics, NeiraMagics)
    return magics


def run(ip: InteractiveShell, code: str) -> tuple[Any, CapturedIO]:
    with capture_output() as captured:
        result = ip.run_cell(code, store_history=True)
    return result, captured


def shown(captured: CapturedIO) -> str:
    """Everything a terminal would show: stdout plus the plain text of displayed outputs."""
    return captured.stdout + "".join(o.data.get("text/plain", "") for o in captured.outputs)


def use_stub(monkeypatch: pytest.MonkeyPatch, url: str, token: str = TOKEN) -> None:
    monkeypatch.setenv("NEIRA_URL", url)
    monkeypatch.setenv("NEIRA_TOKEN", token)
