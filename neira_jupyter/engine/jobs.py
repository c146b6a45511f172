"""A job: one unit of a lane's work, observed from asyncio.

The work runs off the event loop (a lane's worker thread runs it; see
``schedule``). What it emits and how it ends reach the job's reader on the
event loop with ``loop.call_soon_threadsafe``, one hop from the thread that
produced them. Work whose result comes later from another thread (a local
LLM's generation, decoded by the model's batch loop) returns a
``concurrent.futures.Future``: the worker is then free, and the job ends when
that thread sets the future (``settle``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from typing import Any

from .types import CancelToken, Latency

__all__ = ["Emit", "Job", "JobCancelled", "Work", "settle"]

Emit = Callable[[Any], None]
Work = Callable[[CancelToken, Emit], Any]

_DONE = object()


class JobCancelled(Exception):
    """Raised by ``Job.wait`` for a job cancelled before a worker started it."""


def settle(future: Future[Any], result: Any = None, error: BaseException | None = None) -> None:
    """End the job that returned ``future``: with ``result``, or with ``error`` when set."""
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class Job:
    """One unit of work for a lane, observed from asyncio."""

    def __init__(
        self,
        user: str,
        lane: str,
        work: Work,
        loop: asyncio.AbstractEventLoop,
        job_id: str | None = None,
        on_settled: Callable[[Job], None] | None = None,
    ) -> None:
        self.id = job_id or uuid.uuid4().hex
        self._on_settled = on_settled
        self.user = user
        self.lane = lane
        self.work = work
        self.cancel_token = CancelToken()
        self.created = time.perf_counter()
        self.started: float | None = None
        self.finished = False
        self.latency = Latency.NORMAL  # lower classes are served first (a completion: URGENT)
        self._loop = loop
        self._events: asyncio.Queue[Any] = asyncio.Queue()
        self._settled = asyncio.Event()
        self._result: Any = None
        self._error: BaseException | None = None

    @property
    def queue_ms(self) -> float:
        """How long the job waited before a worker took it."""
        end = self.started if self.started is not None else time.perf_counter()
        return (end - self.created) * 1000

    def cancel(self) -> None:
        """Ask the job to stop; a queued job is dropped by the scheduler."""
        self.cancel_token.cancel()

    # -- called from any thread but the event loop's ----------------------------
    def _emit(self, item: Any) -> None:
        # a closed loop means nobody is listening any more
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._events.put_nowait, item)

    def _finish(self, result: Any = None, error: BaseException | None = None) -> None:
        def settle() -> None:
            self._result = result
            self._error = error
            self.finished = True
            self._events.put_nowait(_DONE)
            self._settled.set()
            if self._on_settled is not None:
                self._on_settled(self)

        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(settle)

    # -- called from asyncio ---------------------------------------------------
    async def stream(self) -> AsyncIterator[Any]:
        """Yield what the work emits, then end (or raise the work's error)."""
        while True:
            item = await self._events.get()
            if item is _DONE:
                if self._error is not None:
                    raise self._error
                return
            yield item

    async def settled(self) -> None:
        """Wait until the job ends, without consuming its events."""
        await self._settled.wait()

    async def wait(self) -> Any:
        """Wait for the job's result, ignoring what it emitted (the job's only reader)."""
        async for _ in self.stream():
            pass
        return self._result

    @property
    def result(self) -> Any:
        return self._result
