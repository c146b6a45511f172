"""The live JupyterHub of the tests in tests/hub/, started once per session.

``hub`` starts the Hub, its proxy and the managed ``neira`` service (real
demo models) of ``tests/support/hub_fixture.py``, waits for the service's
models and alice's single-user server, and at the end checks that stopping
the Hub left no process of it behind.
"""

from __future__ import annotations

from collections.abc import Iterator

import psutil
import pytest

from tests.conftest import loads_model
from tests.support.hub_fixture import LiveHub


@pytest.fixture(scope="session")
@loads_model
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    live = LiveHub.start(tmp_path_factory.mktemp("hub"))
    processes: list[psutil.Process] = []
    try:
        live.wait_service_ready("alice")
        live.start_server("alice")
        yield live
    finally:
        if live.process is not None:  # proxy, service, alice's server and her kernels
            processes = psutil.Process(live.process.pid).children(recursive=True)
        live.stop()
    alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"left behind: {[(p.pid, p.cmdline()) for p in alive]}"
