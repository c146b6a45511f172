"""The router without models: stand-ins that carry only a lifecycle state, and ``make_router``.

Shared by the router's unit tests (tests/engine/routing/).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from neira_jupyter.engine.routing import (
    MIB,
    Backend,
    ManualSource,
    MemoryEstimate,
    MemoryWatch,
    ModelRouter,
    PressureThresholds,
    RouterConfig,
)
from neira_jupyter.engine.types import (
    ChatMessage,
    GenerationOptions,
    ModelState,
)
from tests.support.helpers import ManualClock


class StateOnlyModel:
    """A lifecycle state and nothing else: what the router looks at."""

    def __init__(self, name: str, state: ModelState = ModelState.READY) -> None:
        self._name = name
        self.state = state
        self.error: str | None = None

    @property
    def name(self) -> str:
        return self._name

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    def load(self) -> None:
        self.state = ModelState.READY

    def close(self) -> None:
        self.state = ModelState.UNLOADED

    def generate(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, cancel: Any = None
    ) -> Iterator[Any]:
        raise NotImplementedError


class RecordingActions:
    """Carries out loads/unloads at once and remembers them."""

    def __init__(self) -> None:
        self.done: list[tuple[str, str]] = []
        self.router: ModelRouter | None = None
        self.immediate = True
        self.pending: list[tuple[str, Backend]] = []

    def load(self, backend: Backend) -> None:
        self.done.append(("load", backend.role))
        backend.model.state = ModelState.LOADING
        self.pending.append(("load", backend))
        if self.immediate:
            self.finish()

    def unload(self, backend: Backend) -> None:
        self.done.append(("unload", backend.role))
        self.pending.append(("unload", backend))
        if self.immediate:
            self.finish()

    def finish(self) -> None:
        assert self.router is not None
        while self.pending:
            action, backend = self.pending.pop(0)
            backend.model.load() if action == "load" else backend.model.close()
            self.router.action_done(backend)


def make_router(
    primary_state: ModelState = ModelState.READY,
    fallback_state: ModelState = ModelState.UNLOADED,
    free_mib: float = 8000,
    estimates: tuple[float, float] = (3000, 500),
    **config: Any,
) -> tuple[ModelRouter, RecordingActions, ManualSource, ManualClock]:
    clock = ManualClock(1000.0)
    source = ManualSource(free_mib, 16000)
    watch = MemoryWatch(source, PressureThresholds(1000, 4000, 5), clock=clock)
    watch.poll()
    actions = RecordingActions()
    backends = [
        Backend(
            "primary",
            StateOnlyModel("big", primary_state),
            estimate=MemoryEstimate(int(estimates[0] * MIB), 0, 0),
        ),
        Backend(
            "fallback",
            StateOnlyModel("small", fallback_state),
            estimate=MemoryEstimate(int(estimates[1] * MIB), 0, 0),
        ),
    ]
    router = ModelRouter(backends, actions, watch, RouterConfig(**config), clock=clock)
    actions.router = router
    return router, actions, source, clock
