"""Fixtures of the magics' tests on a bare IPython shell: the shell and the stub API.

``shell`` is ``InteractiveShell`` with the extension freshly loaded and no
server configured (the environment variables that point at one are removed);
``stub`` runs the stub of the neira API of ``tests/support/stub_api.py`` for
one test and yields its base URL and ``StubState``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

from tests.support.stub_api import StubState, serve_stub


@pytest.fixture
def stub() -> Iterator[tuple[str, StubState]]:
    """A stub API server; yields its base URL (with a base_url of ``/base/``) and state."""
    with serve_stub() as served:
        yield served


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """The bare IPython shell with the extension freshly loaded, and no server configured."""
    for name in ("NEIRA_URL", "NEIRA_TOKEN", "JPY_PARENT_PID", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "neira_jupyter")
    try:
        yield ip
    finally:
        ip.run_line_magic("unload_ext", "neira_jupyter")
        ip.config.pop("NeiraMagics", None)
        for name in ("answer", "heard", "x", "items"):
            ip.user_ns.pop(name, None)
