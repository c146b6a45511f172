"""The scheduler: bounded admission, round-robin fairness by user, one worker per model.

llama-cpp-python's ``Llama`` is not thread-safe and does not batch requests,
so every model gets its own ``ModelWorker`` thread(s) that alone call it. Work
reaches a worker through a ``FairQueue``: jobs are kept per user and the worker
takes one job from each waiting user in turn, so one user's burst cannot starve
the others. Admission is bounded over all workers: when ``capacity`` jobs are
already waiting, ``submit`` raises ``QueueFull`` (the server answers 429 with
``Retry-After``) instead of letting the wait grow without end, and one user
may hold at most ``per_user`` jobs (queued plus running) at a time.

Request ids belong to their user: two users may use the same id, and a user
can find or cancel only their own jobs. Once ``stop`` begins, new work is
refused (``ShuttingDown``), queued jobs end cancelled and running ones are
asked to stop; the models are freed only after their workers have returned.

Results travel back to asyncio with ``loop.call_soon_threadsafe``: the event
loop never blocks on a model call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from .types import CancelToken, DuplicateRequest, QueueFull, ShuttingDown

log = logging.getLogger("neira_jupyter")

INTERNAL_USER = "neira-internal"
"""The owner of the engine's own jobs (model loads and unloads) on a lane."""

Emit = Callable[[Any], None]
Work = Callable[[CancelToken, Emit], Any]

_DONE = object()


class JobCancelled(Exception):
    """Raised by ``Job.wait`` for a job cancelled before a worker started it."""


class Job:
    """One unit of work for a model worker, observed from asyncio."""

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

    # -- called from the worker thread -------------------------------------
    def _emit(self, item: Any) -> None:
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

        # a closed loop means nobody is listening any more
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


class FairQueue:
    """Jobs grouped by user and served round-robin. Thread-safe."""

    def __init__(self) -> None:
        self._by_user: OrderedDict[str, deque[Job]] = OrderedDict()
        self._cond = threading.Condition()
        self._closed = False

    def __len__(self) -> int:
        with self._cond:
            return sum(len(q) for q in self._by_user.values())

    def put(self, job: Job) -> None:
        with self._cond:
            self._by_user.setdefault(job.user, deque()).append(job)
            self._cond.notify()

    def remove(self, job: Job) -> bool:
        """Take a queued job out; False if a worker already took it."""
        with self._cond:
            jobs = self._by_user.get(job.user)
            if jobs is None or job not in jobs:
                return False
            jobs.remove(job)
            if not jobs:
                del self._by_user[job.user]
            return True

    def get(self) -> Job | None:
        """Block until a job is ready; None once the queue is closed."""
        with self._cond:
            while not self._by_user and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            user, jobs = next(iter(self._by_user.items()))
            job = jobs.popleft()
            del self._by_user[user]
            if jobs:  # the user goes to the back of the rotation
                self._by_user[user] = jobs
            return job

    def jobs(self) -> list[Job]:
        with self._cond:
            return [job for q in self._by_user.values() for job in q]

    def close(self) -> list[Job]:
        """Stop handing out jobs; returns the ones still waiting."""
        with self._cond:
            self._closed = True
            left = [job for q in self._by_user.values() for job in q]
            self._by_user.clear()
            self._cond.notify_all()
            return left


class ModelWorker:
    """Thread(s) that alone run the work of one lane (one model)."""

    def __init__(self, lane: str, threads: int = 1) -> None:
        self.lane = lane
        self.queue = FairQueue()
        self.running: dict[str, Job] = {}
        self._running_lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, name=f"neira-{lane}-{i}", daemon=True)
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        while True:
            job = self.queue.get()
            if job is None:
                return
            if job.cancel_token.cancelled:
                job._finish(error=JobCancelled(job.id))
                continue
            job.started = time.perf_counter()
            with self._running_lock:
                self.running[job.id] = job
            result: Any = None
            error: BaseException | None = None
            try:
                result = job.work(job.cancel_token, job._emit)
            except BaseException as exc:  # delivered to the awaiting coroutine
                error = exc
            # leave ``running`` before the caller hears the end, so a status
            # read after the last event never counts this job
            with self._running_lock:
                self.running.pop(job.id, None)
            job._finish(result=result, error=error)

    def running_jobs(self) -> list[Job]:
        with self._running_lock:
            return list(self.running.values())

    def stop(self, timeout: float = 30.0) -> bool:
        """Cancel queued and running jobs and wait for the threads; False if one is still busy."""
        for job in self.queue.close():
            job._finish(error=JobCancelled(job.id))
        for job in self.running_jobs():
            job.cancel()
        for thread in self._threads:
            thread.join(timeout)
        return not any(thread.is_alive() for thread in self._threads)


class Scheduler:
    """Admission and fair dispatch of jobs to per-lane workers."""

    def __init__(self, capacity: int = 16, retry_after: int = 2, per_user: int = 0) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.retry_after = retry_after
        self.per_user = per_user  # 0: no cap besides ``capacity``
        self._workers: dict[str, ModelWorker] = {}
        self._jobs: dict[tuple[str, str], Job] = {}  # (user, id) -> live job
        self._lock = threading.Lock()
        self._stopping = False

    def add_lane(self, lane: str, threads: int = 1) -> None:
        """Create the worker for a lane (a model); idempotent."""
        with self._lock:
            if lane not in self._workers:
                self._workers[lane] = ModelWorker(lane, threads)

    def has_lane(self, lane: str) -> bool:
        return lane in self._workers

    def waiting(self, lane: str) -> int:
        """Users' requests queued on ``lane`` that no worker has taken yet (loads not counted)."""
        worker = self._workers.get(lane)
        if worker is None:
            return 0
        return sum(1 for job in worker.queue.jobs() if job.user != INTERNAL_USER)

    def submit(
        self,
        user: str,
        lane: str,
        work: Work,
        job_id: str | None = None,
    ) -> Job:
        """Queue ``work`` on ``lane``'s worker for ``user``. Raises ``QueueFull``."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._stopping:
                raise ShuttingDown("the server is shutting down; no new requests are taken")
            worker = self._workers[lane]
            waiting = sum(len(w.queue) for w in self._workers.values())
            if waiting >= self.capacity:
                raise QueueFull(
                    f"the queue is full ({waiting} requests waiting); "
                    f"try again in {self.retry_after} s",
                    retry_after=self.retry_after,
                )
            mine = sum(1 for owner, _ in self._jobs if owner == user)
            if self.per_user and mine >= self.per_user:
                raise QueueFull(
                    f"you already have {mine} requests queued or running; the limit per "
                    f"user is {self.per_user}; try again in {self.retry_after} s",
                    retry_after=self.retry_after,
                )
            if job_id is not None and (user, job_id) in self._jobs:
                raise DuplicateRequest(f"you already have a request with request_id {job_id!r}")
            job = Job(user, lane, work, loop, job_id, on_settled=self._forget)
            self._jobs[(user, job.id)] = job
        worker.queue.put(job)
        return job

    def submit_internal(self, lane: str, work: Work) -> Job:
        """Queue the engine's own work (a model load) on ``lane``, outside admission."""
        job = Job(INTERNAL_USER, lane, work, asyncio.get_running_loop())
        self._workers[lane].queue.put(job)
        return job

    def _forget(self, job: Job) -> None:
        """A job settled: its id is free again, at once (a retry may reuse it)."""
        with self._lock:
            if self._jobs.get((job.user, job.id)) is job:
                del self._jobs[(job.user, job.id)]

    def find(self, job_id: str, user: str) -> Job | None:
        """The live job of ``user`` with this id; another user's job is never found."""
        return self._jobs.get((user, job_id))

    def cancel(self, job: Job) -> None:
        """Cancel a job: drop it if queued, stop it at the next token if running."""
        job.cancel()
        worker = self._workers.get(job.lane)
        if worker is not None and worker.queue.remove(job):
            job._finish(error=JobCancelled(job.id))

    def status(self, user: str | None = None) -> dict[str, Any]:
        """Counts for everyone; request ids only of ``user``'s own running jobs."""
        queued = [job for w in self._workers.values() for job in w.queue.jobs()]
        running = [job for w in self._workers.values() for job in w.running_jobs()]
        return {
            "depth": len(queued),
            "running": len(running),
            "capacity": self.capacity,
            "per_user": self.per_user,
            "running_ids": [job.id for job in running if job.user == user],
            "lanes": {
                lane: {"queued": len(w.queue), "running": len(w.running_jobs())}
                for lane, w in self._workers.items()
            },
        }

    def jobs_of(self, user: str) -> list[Job]:
        return [job for job in list(self._jobs.values()) if job.user == user]

    def stop(self) -> set[str]:
        """Refuse new jobs, cancel queued and running ones, wait; the lanes still busy."""
        with self._lock:
            self._stopping = True
        return {lane for lane, worker in self._workers.items() if not worker.stop()}
