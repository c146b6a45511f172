"""The scheduler: bounded admission, round-robin fairness by user, one lane per model.

Every model has a lane: a ``FairQueue`` and the worker thread(s) that take
jobs from it. Jobs are kept per user and the lane takes one job from each
waiting user in turn, so one user's burst cannot starve the others. Code
completions and stopped dictations' corrections (``Latency.URGENT``), then live
dictations' segment corrections (``Latency.SEGMENT``), are latency classes of
their own: each class waits in its own rotation, served before the next class.
Admission is bounded over all lanes: when ``capacity`` jobs are already
waiting, ``submit`` raises ``QueueFull`` (the server answers 429 with
``Retry-After``) instead of letting the wait grow without end, and one user
may hold at most ``per_user`` jobs (queued plus running) at a time.

A lane runs at most ``slots`` jobs at once on ``threads`` threads. Blocking
work (Whisper, a remote API's HTTP stream, a model's load) holds a thread
until it returns, so such lanes have a thread per slot. A local LLM's lane
has one thread and the model's ``slots``: its work hands the generation to
the model's batch loop and returns a ``Future`` (``jobs``), so the thread
takes the next job at once, while the slot stays taken until the loop
settles the job. The lane thread also runs the model's load and unload, in
queue order with the requests (``lanes``).

Request ids belong to their user: two users may use the same id, and a user
can find or cancel only their own jobs. Once ``stop`` begins, new work is
refused (``ShuttingDown``), queued jobs end cancelled and running ones are
asked to stop; the models are freed only after their lanes' jobs have ended.

Results travel back to asyncio with ``loop.call_soon_threadsafe``: the event
loop never blocks on a model call.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import Future
from typing import Any

from .jobs import Job, JobCancelled, Work
from .types import DuplicateRequest, Latency, QueueFull, ShuttingDown

log = logging.getLogger("neira_jupyter")

__all__ = [
    "INTERNAL_USER",
    "QUEUE_CAPACITY",
    "RETRY_AFTER_S",
    "FairQueue",
    "Job",
    "JobCancelled",
    "ModelWorker",
    "Scheduler",
]

QUEUE_CAPACITY = 16
"""Requests that may wait for a model by default (``NeiraApp.queue_size``)."""

RETRY_AFTER_S = 2
"""Seconds a refused request is told to wait by default (``NeiraApp.retry_after``)."""

INTERNAL_USER = "neira-internal"
"""The owner of the engine's own jobs (model loads and unloads) on a lane."""


class FairQueue:
    """Jobs grouped by user and served round-robin, the lowest ``Latency`` class first.
    Thread-safe."""

    def __init__(self) -> None:
        # a rotation per latency class, most urgent first; each user -> their jobs in order
        self._rotations: tuple[OrderedDict[str, deque[Job]], ...] = tuple(
            OrderedDict() for _ in Latency
        )
        self._cond = threading.Condition()
        self._closed = False

    def __len__(self) -> int:
        with self._cond:
            return sum(len(q) for r in self._rotations for q in r.values())

    def _rotation(self, job: Job) -> OrderedDict[str, deque[Job]]:
        return self._rotations[job.latency]

    def put(self, job: Job) -> None:
        with self._cond:
            self._rotation(job).setdefault(job.user, deque()).append(job)
            self._cond.notify()

    def remove(self, job: Job) -> bool:
        """Take a queued job out; False if a worker already took it."""
        with self._cond:
            rotation = self._rotation(job)
            jobs = rotation.get(job.user)
            if jobs is None or job not in jobs:
                return False
            jobs.remove(job)
            if not jobs:
                del rotation[job.user]
            return True

    def get(self) -> Job | None:
        """Block until a job is ready; None once the queue is closed."""
        with self._cond:
            while not any(self._rotations) and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            rotation = next(r for r in self._rotations if r)
            user, jobs = next(iter(rotation.items()))
            job = jobs.popleft()
            del rotation[user]
            if jobs:  # the user goes to the back of the rotation
                rotation[user] = jobs
            return job

    def jobs(self) -> list[Job]:
        with self._cond:
            return [job for r in self._rotations for q in r.values() for job in q]

    def close(self) -> list[Job]:
        """Stop handing out jobs; returns the ones still waiting."""
        with self._cond:
            self._closed = True
            left = [job for r in self._rotations for q in r.values() for job in q]
            for rotation in self._rotations:
                rotation.clear()
            self._cond.notify_all()
            return left


class ModelWorker:
    """The thread(s) of one lane (one model): at most ``slots`` jobs run at once."""

    def __init__(self, lane: str, threads: int = 1, slots: int | None = None) -> None:
        self.lane = lane
        self.slots = max(slots or threads, threads)
        self.queue = FairQueue()
        self.running: dict[str, Job] = {}
        self._running_lock = threading.Condition()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._run, name=f"neira-{lane}-{i}", daemon=True)
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        while True:
            with self._running_lock:  # a free slot first, then the next job
                while len(self.running) >= self.slots and not self._closed:
                    self._running_lock.wait()
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
            if isinstance(result, Future):  # the job goes on elsewhere; it settles later
                result.add_done_callback(functools.partial(self._settle_future, job))
            else:
                self._settle(job, result, error)

    def _settle_future(self, job: Job, future: Future[Any]) -> None:
        error = future.exception()
        self._settle(job, None if error is not None else future.result(), error)

    def _settle(self, job: Job, result: Any, error: BaseException | None) -> None:
        # leave ``running`` before the caller hears the end, so a status
        # read after the last event never counts this job
        with self._running_lock:
            self.running.pop(job.id, None)
            self._running_lock.notify_all()
        job._finish(result=result, error=error)

    def running_jobs(self) -> list[Job]:
        with self._running_lock:
            return list(self.running.values())

    def stop(self, timeout: float = 30.0) -> bool:
        """Cancel queued and running jobs and wait for them; False if one is still busy."""
        for job in self.queue.close():
            job._finish(error=JobCancelled(job.id))
        with self._running_lock:
            self._closed = True
            self._running_lock.notify_all()
        for job in self.running_jobs():
            job.cancel()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._running_lock:  # handed-off jobs end when their loop drops them
            while self.running and time.monotonic() < deadline:
                self._running_lock.wait(deadline - time.monotonic())
            busy = bool(self.running)
        return not busy and not any(thread.is_alive() for thread in self._threads)


class Scheduler:
    """Admission and fair dispatch of jobs to per-lane workers."""

    def __init__(
        self,
        capacity: int = QUEUE_CAPACITY,
        retry_after: int = RETRY_AFTER_S,
        per_user: int = 0,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.retry_after = retry_after
        self.per_user = per_user  # 0: no cap besides ``capacity``
        self._workers: dict[str, ModelWorker] = {}
        self._jobs: dict[tuple[str, str], Job] = {}  # (user, id) -> live job
        self._lock = threading.Lock()
        self._stopping = False

    def add_lane(self, lane: str, threads: int = 1, slots: int | None = None) -> None:
        """Create the worker for a lane (a model): ``threads`` threads running at most
        ``slots`` jobs at once (default: one per thread); idempotent."""
        with self._lock:
            if lane not in self._workers:
                self._workers[lane] = ModelWorker(lane, threads, slots)

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
        latency: Latency = Latency.NORMAL,
    ) -> Job:
        """Queue ``work`` on ``lane``'s worker for ``user``, in its ``latency`` class
        (a lower class waits ahead of the others). Raises ``QueueFull``."""
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
            job.latency = latency
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
