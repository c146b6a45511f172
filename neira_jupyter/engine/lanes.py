"""``LaneActions``: model loads and unloads as jobs on each model's own worker lane.

A model's load and unload are jobs on its lane (see ``schedule``), queued
like requests: a request that arrives while its model loads waits behind the
load, and an unload waits until the requests queued before it have been
taken; a local LLM's ``close`` then lets the sequences already in its batch
finish before it frees the model. ``LaneActions`` is the
router's ``RouterActions``: when a load or unload it asked for settles, the
router is told (``ModelRouter.action_done``) and re-evaluates the route.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, Protocol

from .resident import Loadable, LoadRetry
from .routing import Backend, ModelRouter
from .schedule import Job, Scheduler
from .types import CancelToken, EngineError, ModelState

__all__ = ["LaneActions"]


class _Resident(Loadable, Protocol):
    """A model with a lifecycle: ``LlamaModel``, ``RemoteModel``, ``WhisperTranscriber``."""

    def load(self) -> None: ...


class LaneActions:
    """Loads and unloads on the scheduler's lanes; the router's ``RouterActions``."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.router: ModelRouter | None = None  # told when an action it asked for settles
        self._tasks: set[asyncio.Task[None]] = set()

    def load_in_lane(self, model: _Resident, lane: str) -> Job:
        """Queue the model's load on its lane; later jobs wait behind it.

        A failure is recorded in ``model.state``/``model.error`` (and logged) by
        the model itself, not raised here.
        """
        if model.state is ModelState.UNLOADED:
            model.state = ModelState.LOADING

        def load(_cancel: CancelToken, _emit: Any) -> None:
            with contextlib.suppress(EngineError):
                model.load()

        return self.scheduler.submit_internal(lane, load)

    def load_when_due(self, model: _Resident, lane: str, retry: LoadRetry) -> None:
        """Queue the load of ``model`` when it is unloaded, or failed long enough ago that
        ``retry`` says to try again (a ``due`` retry marks it unloaded)."""
        retry.due(model, time.monotonic())
        if model.state is ModelState.UNLOADED:
            self.load_in_lane(model, lane)

    def load(self, backend: Backend) -> None:
        self._carry_out(backend, lambda: self.load_in_lane(backend.model, backend.name))

    def unload(self, backend: Backend) -> None:
        self._carry_out(
            backend,
            lambda: self.scheduler.submit_internal(
                backend.name, lambda _cancel, _emit: backend.model.close()
            ),
        )

    def _carry_out(self, backend: Backend, submit: Callable[[], Job]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): the next refresh retries
            backend.pending = None
            return
        job = submit()

        async def report() -> None:
            await job.settled()
            if self.router is not None:
                self.router.action_done(backend)

        task = loop.create_task(report())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
