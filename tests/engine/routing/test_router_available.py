"""``ModelRouter.available``: whether a request could be served, asked without side effects.

The router is driven with the state-only stand-ins of ``tests/support/router_parts.py``: the
question is what the router records and starts, never what a model does.
"""

from __future__ import annotations

import pytest

from neira_jupyter.engine.types import ModelState, NoModelAvailable
from tests.support.router_parts import make_router


def test_asking_starts_no_load_and_records_no_switch() -> None:
    router, actions, _source, _clock = make_router(primary_state=ModelState.UNLOADED)
    assert router.available() is None
    assert actions.done == [] and list(router.history) == []
    assert router.backend("primary").model.state is ModelState.UNLOADED  # type: ignore[union-attr]
    router.route()  # a request does load what the route needs
    assert ("load", "primary") in actions.done


def test_the_reason_is_the_one_a_request_gets_and_asking_keeps_retries_possible() -> None:
    router, actions, _source, clock = make_router(
        primary_state=ModelState.FAILED, fallback_state=ModelState.FAILED
    )
    for backend in router.backends:
        backend.model.error = "RuntimeError: out of memory"
    # nobody asked yet: the next request starts the reload's backoff, so it may serve
    assert router.available() is None
    assert all(b.load_retry.failed_at is None for b in router.backends)
    with pytest.raises(NoModelAvailable) as refused:
        router.route()
    reason = router.available()  # backing off now: nothing can serve, and it says why
    assert reason == str(refused.value) and "failed to load" in reason
    clock.now += 60  # past the first backoff: the next request would retry
    assert router.available() is None
    assert all(b.model.state is ModelState.FAILED for b in router.backends)
    assert actions.done == []


def test_a_missing_file_is_never_retried_and_a_disabled_router_says_so() -> None:
    router, _actions, _source, _clock = make_router(
        primary_state=ModelState.FAILED, fallback_state=ModelState.FAILED
    )
    for backend in router.backends:
        backend.model.error = "FileNotFoundError: no such file"
    assert "FileNotFoundError" in (router.available() or "")
    router.enabled = False
    assert router.available() == router.disabled_reason
