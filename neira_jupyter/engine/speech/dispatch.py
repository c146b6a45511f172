"""``SpeechDispatcher``: which live-stream decode runs next on the speech lane, and with whom.

Every live stream (``StreamingRecognizer``) asks for decodes of its current
segment. Many streams share one Whisper model, so the order matters more
than the speed of any one decode. The dispatcher keeps the requests on the
event loop and hands the lane a batch whenever one of its workers is free:

* **Finals first.** A stopped stream's closing decode (``Priority.STOP``,
  someone is waiting for their text) goes before a pause's segment close
  (``Priority.SEGMENT``, words get committed), which goes before any live
  partial (``Priority.PARTIAL``); within a class, the oldest request first.
* **Partials adapt to load.** A stream has at most one decode waiting. A
  partial's audio is read when it is dispatched, not when it was asked for
  (``source`` is called then), so a partial that waited covers the newest
  audio and a slow lane gives each stream fewer, larger updates instead of
  a backlog. While a stopped stream's final or correction is under way
  (``hold``), partials wait, but never longer than ``partial_hold_s``, so a
  stream that is still speaking does not freeze. A stream that stops drops
  its waiting partial (``drop``): its final covers that audio.
* **Batches.** Up to ``batch_size`` requests of the same class go out in one
  call (``run_batch``: one CTranslate2 call over several streams' windows).

Each request is a ``Window`` built at dispatch time; ``source`` returns None
when there is nothing new to decode, and the request then ends with None.
``status`` says how loaded the lane is: requests waiting per class, batches
in flight, the lane's busy fraction over the last ``LOAD_WINDOW_S`` and how
long partials have been waiting.

This module imports nothing from Jupyter and runs on the event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Generic, TypeVar

from .window import Window

__all__ = ["Priority", "SpeechDispatcher"]

LOAD_WINDOW_S = 10.0
"""The span over which ``status`` reports the lane's busy fraction."""

R = TypeVar("R")


class Priority(IntEnum):
    """The order of live decodes: lower first."""

    STOP = 0
    SEGMENT = 1
    PARTIAL = 2


@dataclass
class _Request(Generic[R]):
    key: str
    priority: Priority
    source: Callable[[], Window | None]
    future: asyncio.Future[R | None]
    since: float = field(default_factory=time.monotonic)


class SpeechDispatcher(Generic[R]):
    """Orders and batches live decodes for ``concurrency`` lane workers."""

    def __init__(
        self,
        run_batch: Callable[[list[Window]], Awaitable[list[R]]],
        batch_size: Callable[[], int],
        concurrency: int = 1,
        partial_hold_s: float = 2.0,
    ) -> None:
        self._run_batch = run_batch
        self._batch_size = batch_size
        self.concurrency = max(1, concurrency)
        self.partial_hold_s = partial_hold_s
        self._waiting: dict[str, _Request[R]] = {}  # one waiting decode per stream
        self._in_flight = 0
        self._holds = 0
        self._hold_timer: asyncio.TimerHandle | None = None
        self._busy: deque[tuple[float, float]] = deque()  # (start, end) of finished batches
        self._started: list[float] = []  # starts of batches in flight
        self._partial_waits: deque[float] = deque(maxlen=64)
        self.served: deque[tuple[Priority, str]] = deque(maxlen=256)
        """The most recent windows handed to the lane, oldest first: (priority, stream key)."""
        self.counts = {"batches": 0, "windows": 0, "partials": 0, "partials_dropped": 0}

    # -- requests ------------------------------------------------------------
    async def decode(
        self, key: str, priority: Priority, source: Callable[[], Window | None]
    ) -> R | None:
        """Decode the window ``source`` gives at dispatch; None when it gave none or was dropped.

        A stream (``key``) has one decode waiting at a time: a new request
        replaces a waiting one, which then ends with None.
        """
        future: asyncio.Future[R | None] = asyncio.get_running_loop().create_future()
        self.drop(key)
        self._waiting[key] = _Request(key, priority, source, future)
        self._pump()
        try:
            return await future
        finally:
            if self._waiting.get(key) is not None and self._waiting[key].future is future:
                del self._waiting[key]  # the caller was cancelled while it waited

    def drop(self, key: str, partial_only: bool = False) -> None:
        """End the stream's waiting decode, if any, with None; with ``partial_only``, only
        a waiting partial (a stopping stream still needs its closed segment decoded)."""
        request = self._waiting.get(key)
        if request is None or (partial_only and request.priority is not Priority.PARTIAL):
            return
        del self._waiting[key]
        if request.priority is Priority.PARTIAL:
            self.counts["partials_dropped"] += 1
        if not request.future.done():
            request.future.set_result(None)

    def waiting_finals(self) -> int:
        """Closed segments' decodes waiting for a worker (partials not counted)."""
        return sum(r.priority is not Priority.PARTIAL for r in self._waiting.values())

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Partials wait (at most ``partial_hold_s`` each) while this block runs."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
            self._pump()

    # -- dispatch ------------------------------------------------------------
    def _next_batch(self) -> list[_Request[R]]:
        now = time.monotonic()
        ordered = sorted(self._waiting.values(), key=lambda r: (r.priority, r.since))
        if not ordered:
            return []
        first = ordered[0]
        if (
            first.priority is Priority.PARTIAL
            and self._holds
            and now - first.since < (self.partial_hold_s)
        ):
            self._wake_after(first.since + self.partial_hold_s - now)
            return []
        same = [r for r in ordered if r.priority is first.priority]
        return same[: max(1, self._batch_size())]

    def _wake_after(self, delay: float) -> None:
        if self._hold_timer is None:
            loop = asyncio.get_running_loop()

            def wake() -> None:
                self._hold_timer = None
                self._pump()

            self._hold_timer = loop.call_later(max(0.0, delay), wake)

    def _pump(self) -> None:
        while self._in_flight < self.concurrency:
            batch: list[tuple[_Request[R], Window]] = []
            for request in self._next_batch():
                del self._waiting[request.key]
                window = request.source() if not request.future.done() else None
                if window is None:
                    if not request.future.done():
                        request.future.set_result(None)
                    continue
                if request.priority is Priority.PARTIAL:
                    self._partial_waits.append(time.monotonic() - request.since)
                self.served.append((request.priority, request.key))
                batch.append((request, window))
            if not batch:
                if not self._waiting or self._hold_timer is not None or self._holds:
                    return
                continue  # every request of that class had nothing new: try the next class
            self._in_flight += 1
            asyncio.get_running_loop().create_task(self._run(batch))

    async def _run(self, batch: list[tuple[_Request[R], Window]]) -> None:
        started = time.monotonic()
        self._started.append(started)
        try:
            results = await self._run_batch([window for _, window in batch])
        except BaseException as exc:
            for request, _ in batch:
                if not request.future.done():
                    request.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            for (request, _), result in zip(batch, results, strict=True):
                if not request.future.done():
                    request.future.set_result(result)
        finally:
            self._started.remove(started)
            self._busy.append((started, time.monotonic()))
            self._in_flight -= 1
            self.counts["batches"] += 1
            self.counts["windows"] += len(batch)
            self.counts["partials"] += sum(r.priority is Priority.PARTIAL for r, _ in batch)
            self._pump()

    # -- status --------------------------------------------------------------
    def load(self) -> float:
        """The busy fraction over the last ``LOAD_WINDOW_S`` (1: every worker all the time)."""
        now = time.monotonic()
        since = now - LOAD_WINDOW_S
        while self._busy and self._busy[0][1] < since:
            self._busy.popleft()
        spans = [*self._busy, *((start, now) for start in self._started)]
        busy = sum(end - max(start, since) for start, end in spans if end > since)
        return min(1.0, busy / (LOAD_WINDOW_S * self.concurrency))

    def status(self) -> dict[str, Any]:
        """How loaded the live-speech lane is (``GET api/status``'s ``speech_lane``)."""
        waiting = {p.name.lower(): 0 for p in Priority}
        for request in self._waiting.values():
            waiting[request.priority.name.lower()] += 1
        waits = list(self._partial_waits)
        return {
            "waiting": waiting,
            "decoding": self._in_flight,
            "workers": self.concurrency,
            "batch_size": max(1, self._batch_size()),
            "load": round(self.load(), 3),
            "partial_wait_ms": round(statistics.median(waits) * 1000, 1) if waits else 0.0,
            **self.counts,
        }
