"""A failed load is retried after a growing pause; a missing file is not retried."""

from __future__ import annotations

from dataclasses import dataclass

from neira_jupyter.engine.resident import LoadRetry
from neira_jupyter.engine.types import ModelState


@dataclass
class Model:
    state: ModelState = ModelState.FAILED
    error: str | None = "MemoryError: cannot allocate 4 GiB"
    name: str = "m"


def test_a_transient_failure_is_retried_with_backoff() -> None:
    model, retry = Model(), LoadRetry(base_s=10, max_s=40)
    assert not retry.due(model, 0.0)  # the failure is noticed now
    assert not retry.due(model, 9.0)
    assert retry.due(model, 10.0)
    assert model.state is ModelState.UNLOADED  # the next request loads it again
    model.state = ModelState.FAILED  # ... and it fails again: the pause doubles
    assert not retry.due(model, 11.0)
    assert not retry.due(model, 30.0)
    assert retry.due(model, 31.0)
    assert [LoadRetry(base_s=10, max_s=40, attempts=n).wait_s() for n in range(4)] == [
        10,
        20,
        40,
        40,
    ]


def test_success_resets_the_pause() -> None:
    model, retry = Model(), LoadRetry(base_s=10)
    retry.due(model, 0.0)
    assert retry.due(model, 10.0)
    model.state = ModelState.READY
    assert not retry.due(model, 11.0)
    assert retry.attempts == 0


def test_a_missing_file_stays_failed() -> None:
    model = Model(error="FileNotFoundError: model file not found: /m.gguf")
    retry = LoadRetry(base_s=1)
    assert not any(retry.due(model, t) for t in (0.0, 5.0, 1000.0))
    assert model.state is ModelState.FAILED
