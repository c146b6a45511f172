"""The servers the browser tests drive: JupyterLab, and Notebook 7 (one per test module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.support import Server, jupyter_server, require_browser


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """JupyterLab with the extension and the demo models."""
    require_browser()
    with jupyter_server("lab", tmp_path_factory.mktemp("lab")) as server:
        yield server


@pytest.fixture(scope="module")
def nb7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Notebook 7 with the extension and the demo models."""
    require_browser()
    with jupyter_server("notebook", tmp_path_factory.mktemp("notebook")) as server:
        yield server
