"""The scheduler: round-robin by user, bounded admission, cancellation, a free event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future
from typing import Any

import pytest

from neira_jupyter.engine.jobs import settle
from neira_jupyter.engine.schedule import FairQueue, Job, JobCancelled, Scheduler
from neira_jupyter.engine.types import (
    CancelToken,
    DuplicateRequest,
    Latency,
    QueueFull,
    ShuttingDown,
)


def make_job(user: str, loop: asyncio.AbstractEventLoop) -> Job:
    return Job(user, "lane", lambda _cancel, _emit: None, loop)


async def test_fair_queue_serves_users_round_robin() -> None:
    loop = asyncio.get_running_loop()
    queue = FairQueue()
    for user in ["alice"] * 4 + ["bob"] * 2 + ["carol"]:
        queue.put(make_job(user, loop))
    order = []
    while len(queue):
        job = queue.get()
        assert job is not None
        order.append(job.user)
    assert order == ["alice", "bob", "carol", "alice", "bob", "alice", "alice"]


async def test_latency_classes_are_served_in_order_and_fairly_among_users() -> None:
    loop = asyncio.get_running_loop()
    queue = FairQueue()
    urgent, segment, normal = Latency.URGENT, Latency.SEGMENT, Latency.NORMAL
    for user, latency in [
        ("alice", normal),
        ("alice", segment),
        ("alice", urgent),
        ("bob", normal),
        ("bob", urgent),
        ("bob", segment),
    ]:
        job = make_job(user, loop)
        job.latency = latency
        queue.put(job)
    dropped = make_job("alice", loop)
    dropped.latency = urgent
    queue.put(dropped)
    assert queue.remove(dropped)  # a cancelled completion leaves its rotation
    order = []
    while len(queue):
        taken = queue.get()
        assert taken is not None
        order.append((taken.user, taken.latency))
    assert order == [
        ("alice", urgent),
        ("bob", urgent),
        ("alice", segment),
        ("bob", segment),
        ("alice", normal),
        ("bob", normal),
    ]


def gate_work(gate: threading.Event, log: list[str], name: str) -> Any:
    def work(cancel: CancelToken, emit: Any) -> str:
        gate.wait(10)
        log.append(name)
        emit(name)
        return name

    return work


async def test_worker_runs_one_job_at_a_time_fairly_and_streams_results() -> None:
    scheduler = Scheduler(capacity=10)
    scheduler.add_lane("llm")
    gate = threading.Event()
    log: list[str] = []
    try:
        blocker = scheduler.submit("alice", "llm", gate_work(gate, log, "a0"))
        while not scheduler.status()["running"]:
            await asyncio.sleep(0.01)
        jobs = [
            scheduler.submit(user, "llm", gate_work(gate, log, name))
            for user, name in [("alice", "a1"), ("alice", "a2"), ("bob", "b1")]
        ]
        status = scheduler.status()
        assert (status["running"], status["depth"]) == (1, 3)
        gate.set()
        assert [item async for item in blocker.stream()] == ["a0"]
        assert [await job.wait() for job in jobs] == ["a1", "a2", "b1"]
        assert log == ["a0", "a1", "b1", "a2"]  # bob's request overtakes alice's second
    finally:
        gate.set()
        scheduler.stop()


async def test_full_queue_raises_queue_full_with_retry_after() -> None:
    scheduler = Scheduler(capacity=1, retry_after=7)
    scheduler.add_lane("llm")
    gate = threading.Event()
    try:
        scheduler.submit("u", "llm", gate_work(gate, [], "running"))
        while not scheduler.status()["running"]:
            await asyncio.sleep(0.01)
        scheduler.submit("u", "llm", gate_work(gate, [], "waiting"))
        with pytest.raises(QueueFull) as error:
            scheduler.submit("v", "llm", gate_work(gate, [], "refused"))
        assert error.value.retry_after == 7
    finally:
        gate.set()
        scheduler.stop()


async def test_cancel_drops_a_queued_job_and_stops_a_running_one() -> None:
    scheduler = Scheduler(capacity=4)
    scheduler.add_lane("llm")
    steps: list[int] = []

    def long_work(cancel: CancelToken, emit: Any) -> int:
        for step in range(1000):
            if cancel.cancelled:
                return step
            steps.append(step)
            time.sleep(0.005)
        return 1000

    try:
        running = scheduler.submit("u", "llm", long_work, job_id="r1")
        queued = scheduler.submit("u", "llm", long_work, job_id="r2")
        while not steps:
            await asyncio.sleep(0.01)
        assert scheduler.find("r2", "someone-else") is None  # only the owner finds it
        scheduler.cancel(queued)
        with pytest.raises(JobCancelled):
            await queued.wait()
        scheduler.cancel(running)
        stopped_at = await running.wait()
        assert stopped_at < 1000
        assert scheduler.status()["running"] == 0
    finally:
        scheduler.stop()


async def test_the_event_loop_keeps_running_while_a_model_works() -> None:
    scheduler = Scheduler()
    scheduler.add_lane("llm")

    def work(_cancel: CancelToken, _emit: Any) -> str:
        time.sleep(0.5)
        return "done"

    try:
        job = scheduler.submit("u", "llm", work)
        ticks = 0
        while not job.finished:
            ticks += 1
            await asyncio.sleep(0.01)
        assert await job.wait() == "done"
        assert ticks > 10  # the loop kept turning while the worker slept
    finally:
        scheduler.stop()


async def test_request_ids_belong_to_their_user() -> None:
    scheduler = Scheduler(capacity=8)
    scheduler.add_lane("llm")
    gate = threading.Event()
    try:
        alice = scheduler.submit("alice", "llm", lambda _c, _e: gate.wait(5), job_id="same")
        bob = scheduler.submit("bob", "llm", lambda _c, _e: gate.wait(5), job_id="same")
        assert scheduler.find("same", "alice") is alice
        assert scheduler.find("same", "bob") is bob
        with pytest.raises(DuplicateRequest):
            scheduler.submit("alice", "llm", lambda _c, _e: None, job_id="same")
        while not scheduler.status("alice")["running"]:
            await asyncio.sleep(0.01)
        assert scheduler.status("alice")["running_ids"] == ["same"]
        assert scheduler.status("carol")["running_ids"] == []
        gate.set()
        await alice.wait()
        await bob.wait()
    finally:
        gate.set()
        scheduler.stop()


async def test_per_user_cap_leaves_room_for_others() -> None:
    scheduler = Scheduler(capacity=8, per_user=2)
    scheduler.add_lane("llm")
    gate = threading.Event()
    try:
        jobs = [scheduler.submit("alice", "llm", lambda _c, _e: gate.wait(5)) for _ in range(2)]
        with pytest.raises(QueueFull, match="limit per user is 2") as refused:
            scheduler.submit("alice", "llm", lambda _c, _e: None)
        assert refused.value.retry_after > 0
        jobs.append(scheduler.submit("bob", "llm", lambda _c, _e: gate.wait(5)))
        gate.set()
        for job in jobs:
            await job.wait()
        scheduler.submit("alice", "llm", lambda _c, _e: None)  # room again once settled
    finally:
        gate.set()
        scheduler.stop()


async def test_stop_refuses_new_work_and_waits_for_the_running_job() -> None:
    scheduler = Scheduler()
    scheduler.add_lane("llm")
    finished: list[bool] = []

    def work(cancel: CancelToken, _emit: Any) -> None:
        while not cancel.cancelled:
            time.sleep(0.01)
        time.sleep(0.2)  # a model call that takes a moment to notice
        finished.append(True)

    job = scheduler.submit("u", "llm", work)
    while job.started is None:
        await asyncio.sleep(0.01)
    busy = await asyncio.to_thread(scheduler.stop)
    assert busy == set()
    assert finished == [True]  # stop returned only after the work did
    with pytest.raises(ShuttingDown):
        scheduler.submit("u", "llm", work)


async def test_a_handed_off_job_holds_its_slot_until_another_thread_settles_it() -> None:
    """One lane thread, two slots: work that returns a ``Future`` frees the thread at once,
    its events and end come from the thread that settles it, and a third job waits for a slot."""
    scheduler = Scheduler(capacity=10)
    scheduler.add_lane("llm", threads=1, slots=2)
    handoffs: list[tuple[Future[Any], Any]] = []

    def handed_off(_cancel: CancelToken, emit: Any) -> Future[Any]:
        handoff: Future[Any] = Future()
        handoffs.append((handoff, emit))
        return handoff

    def settle_first() -> None:
        handoffs[0][1]("x")
        settle(handoffs[0][0], "a")

    try:
        first, second, third = (scheduler.submit(u, "llm", handed_off) for u in "abc")
        while len(handoffs) < 2:
            await asyncio.sleep(0.01)
        status = scheduler.status()
        assert (status["running"], status["depth"]) == (2, 1)  # the third waits for a slot
        threading.Thread(target=settle_first).start()
        assert [item async for item in first.stream()] == ["x"]
        assert first.result == "a"
        while len(handoffs) < 3:  # the freed slot took the third job
            await asyncio.sleep(0.01)
        for handoff, _emit in handoffs[1:]:
            settle(handoff, error=ValueError("late"))
        with pytest.raises(ValueError, match="late"):
            await second.wait()
        with pytest.raises(ValueError, match="late"):
            await third.wait()
        assert scheduler.status()["running"] == 0
    finally:
        scheduler.stop()
