"""ModelRouter decisions: order, pressure, fit, failures, make-before-break, in-flight safety.

These unit tests drive the router with stand-in model objects that only carry
a lifecycle state (the router never calls a model itself; the engine does).
The real models are exercised end to end in ``tests/server/test_switch_e2e.py``.
"""

from __future__ import annotations

import pytest

from neira_jupyter.engine.llm import RemoteModel
from neira_jupyter.engine.routing import (
    Backend,
    ManualSource,
    MemoryWatch,
    ModelRouter,
    PressureThresholds,
)
from neira_jupyter.engine.types import (
    BadRequest,
    GenerationOptions,
    ModelState,
    NoModelAvailable,
)
from tests.support.helpers import ManualClock, remote_spec
from tests.support.router_parts import RecordingActions, StateOnlyModel, make_router


def test_primary_serves_when_all_is_well() -> None:
    router, actions, _source, _clock = make_router()
    route = router.route()
    assert route.backend == "primary" and route.model is not None
    assert route.model.name == "big"
    assert router.history == type(router.history)()
    assert actions.done == []


def test_pressure_moves_new_requests_to_the_fallback_and_back_after_the_hold() -> None:
    router, actions, source, clock = make_router()
    assert router.route().backend == "primary"
    source.set(500)
    router.watch.poll()  # type: ignore[union-attr]
    route = router.route()
    assert route.backend == "fallback"
    assert "memory pressure high" in route.reason
    assert ("unload", "primary") in actions.done and ("load", "fallback") in actions.done
    assert router.backend("primary").model.state is ModelState.UNLOADED  # type: ignore[union-attr]

    source.set(5000)
    router.watch.poll()  # type: ignore[union-attr]
    assert router.route().backend == "fallback"  # recovering, not yet recovered
    clock.now += 5
    router.watch.poll()  # type: ignore[union-attr]
    route = router.route()
    assert route.backend == "primary"
    assert actions.done[-2:] == [("load", "primary"), ("unload", "fallback")]
    history = [(s.from_, s.to) for s in router.history]
    assert history == [("primary", "fallback"), ("fallback", "primary")]
    assert "memory pressure" in router.history[0].reason


def test_switching_back_is_make_before_break() -> None:
    router, actions, source, clock = make_router()
    source.set(500)
    router.watch.poll()  # type: ignore[union-attr]
    router.route()
    actions.immediate = False  # the primary's load takes a while
    source.set(5000)
    router.watch.poll()  # type: ignore[union-attr]
    clock.now += 5
    router.watch.poll()  # type: ignore[union-attr]
    route = router.route()
    assert route.backend == "fallback"
    assert "primary 'big' is loading" in route.reason
    actions.finish()
    assert router.route().backend == "primary"


def test_in_flight_requests_keep_their_model_until_they_finish() -> None:
    router, actions, source, _clock = make_router()
    primary = router.route().target
    assert primary is not None
    router.acquire(primary)
    source.set(500)
    router.watch.poll()  # type: ignore[union-attr]
    assert router.route().backend == "fallback"
    assert ("unload", "primary") not in actions.done
    assert primary.model.state is ModelState.READY
    router.release(primary, first_token_ms=10)
    assert ("unload", "primary") in actions.done


def test_a_failed_primary_sends_requests_to_the_fallback_with_the_error() -> None:
    router, _actions, _source, _clock = make_router(primary_state=ModelState.FAILED)
    router.backend("primary").model.error = "ValueError: bad magic"  # type: ignore[union-attr]
    route = router.route()
    assert route.backend == "fallback"
    assert "failed to load: ValueError: bad magic" in route.reason
    assert router.status()["backends"]["primary"]["state"] == "failed"


def test_nothing_usable_is_degraded_with_every_reason() -> None:
    router, _actions, _source, _clock = make_router(
        primary_state=ModelState.FAILED, fallback_state=ModelState.FAILED
    )
    with pytest.raises(NoModelAvailable, match="no language model can serve: primary 'big'"):
        router.route()
    assert router.status()["route"]["backend"] == "degraded"


def test_a_model_that_does_not_fit_is_not_loaded() -> None:
    router, actions, _source, _clock = make_router(primary_state=ModelState.UNLOADED, free_mib=2000)
    route = router.route()
    assert route.backend == "fallback"
    assert "needs ~3000 MiB, only 2000 MiB free" in route.reason
    assert ("load", "primary") not in actions.done


def test_unloading_the_pressured_primary_counts_toward_the_fallback_fit() -> None:
    router, actions, source, _clock = make_router(estimates=(3000, 1000))
    source.set(600)  # the fallback alone would not fit, but the primary gives 3000 MiB back
    router.watch.poll()  # type: ignore[union-attr]
    assert router.route().backend == "fallback"
    assert ("unload", "primary") in actions.done


def test_critical_pressure_leaves_no_local_model() -> None:
    clock = ManualClock(1000.0)
    source = ManualSource(8000, 16000)
    watch = MemoryWatch(source, PressureThresholds(1000, 4000, 5, critical_mib=300), clock=clock)
    actions = RecordingActions()
    router = ModelRouter(
        [Backend("primary", StateOnlyModel("big")), Backend("fallback", StateOnlyModel("small"))],
        actions,
        watch,
        clock=clock,
    )
    actions.router = router
    source.set(100)
    watch.poll()
    with pytest.raises(NoModelAvailable, match="memory pressure critical"):
        router.route()
    assert {("unload", "primary"), ("unload", "fallback")} <= set(actions.done)


def test_max_local_attempts_failures_trip_the_primary_until_the_cooldown() -> None:
    router, _actions, _source, clock = make_router(max_local_attempts=2, failure_cooldown_s=30)
    primary = router.backend("primary")
    assert primary is not None
    for _ in range(2):
        router.acquire(primary)
        router.release(primary, error=RuntimeError("decode failed"))
    route = router.route()
    assert route.backend == "fallback"
    assert "failed 2 times in a row (last: RuntimeError: decode failed)" in route.reason
    clock.now += 31
    assert router.route().backend == "primary"


def test_a_quick_request_missing_the_first_token_budget_counts_as_a_failure() -> None:
    router, _actions, _source, _clock = make_router(
        max_local_attempts=2, local_timeout_ms=100, quick_max_tokens=32
    )
    primary = router.backend("primary")
    assert primary is not None
    assert router.is_quick(GenerationOptions(max_tokens=16))
    assert not router.is_quick(GenerationOptions(max_tokens=256))
    router.release(primary, first_token_ms=500, quick=False)  # not quick: no budget
    assert primary.failures == 0
    router.release(primary, first_token_ms=500, quick=True)
    router.release(primary, first_token_ms=20, quick=True)  # a success resets the count
    assert primary.failures == 0
    router.release(primary, first_token_ms=500, quick=True)
    router.release(primary, first_token_ms=400, quick=True)
    route = router.route()
    assert route.backend == "fallback" and "budget 100 ms" in route.reason


def test_slow_starts_count_only_for_a_request_that_had_the_model_alone() -> None:
    """Eight dictations' corrections at once wait behind one another in the batch:
    that is load, not a sick model, and must not switch everyone to the fallback."""
    router, _actions, _source, _clock = make_router(
        max_local_attempts=2, local_timeout_ms=100, quick_max_tokens=32
    )
    primary = router.backend("primary")
    assert primary is not None
    claims = [router.acquire(primary) for _ in range(8)]
    for claim in claims:
        router.release(primary, first_token_ms=500, quick=True, claim=claim)
    assert primary.failures == 0 and router.route().backend == "primary"
    # alone at the start, but another request started while it waited: still shared
    first = router.acquire(primary)
    second = router.acquire(primary)
    router.release(primary, first_token_ms=500, quick=True, claim=second)
    router.release(primary, first_token_ms=500, quick=True, claim=first)
    assert primary.failures == 0
    for _ in range(2):  # alone, and slow: the model's own slowness
        router.release(primary, first_token_ms=500, quick=True, claim=router.acquire(primary))
    route = router.route()
    assert route.backend == "fallback" and "budget 100 ms" in route.reason


def test_slow_starts_of_the_only_usable_model_and_bad_requests_do_not_trip_it() -> None:
    router, _actions, _source, _clock = make_router(
        fallback_state=ModelState.FAILED, max_local_attempts=2, local_timeout_ms=100
    )
    primary = router.backend("primary")
    assert primary is not None
    for _ in range(3):
        router.release(primary, first_token_ms=500, quick=True)  # nowhere better to go
        router.release(primary, error=BadRequest("longer than the context"))  # not the model
    assert primary.failures == 0
    assert router.route().backend == "primary"


def test_requests_by_name() -> None:
    router, _actions, source, _clock = make_router(fallback_state=ModelState.READY)
    assert router.route("small").backend == "fallback"
    with pytest.raises(BadRequest, match="unknown model 'nope'"):
        router.route("nope")
    source.set(500)
    router.watch.poll()  # type: ignore[union-attr]
    route = router.route("big")  # pressured: served by the fallback, and it says so
    assert route.backend == "fallback" and "served by fallback instead" in route.reason


def test_disabled_llm_is_degraded() -> None:
    router, _actions, _source, _clock = make_router()
    router.enabled = False
    with pytest.raises(NoModelAvailable, match="LLM_ENABLED=false"):
        router.route()


def test_remote_is_used_only_when_external_apis_are_allowed() -> None:
    for allowed in (False, True):
        router, _actions, _source, _clock = make_router(
            primary_state=ModelState.FAILED,
            fallback_state=ModelState.FAILED,
            allow_external_api=allowed,
        )
        remote = RemoteModel(remote_spec("http://127.0.0.1:9/v1", "m"))  # never called
        router.backends.append(Backend("remote", remote, local=False))
        if allowed:
            route = router.route()
            assert route.backend == "remote" and route.model is remote
            assert "primary 'big' failed to load" in route.reason
        else:
            with pytest.raises(NoModelAvailable):
                router.route()


def test_status_reads_the_route_and_starts_nothing() -> None:
    router, actions, source, _clock = make_router(primary_state=ModelState.UNLOADED)
    assert router.status()["route"]["backend"] == "primary"  # what a refresh would decide
    assert actions.done == []
    router.refresh()
    assert actions.done == [("load", "primary")]
    source.set(500)
    router.watch.poll()  # type: ignore[union-attr]  # no listener here: nothing refreshes
    assert router.status()["route"]["backend"] == "primary"  # the last refresh's route
    assert actions.done == [("load", "primary")]
    assert router.refresh().backend == "fallback"
    assert ("load", "fallback") in actions.done and ("unload", "primary") in actions.done
