"""Turns on the CPU: the models that compute on it take it one at a time, first come first served.

llama.cpp (the LLM) and CTranslate2 (Whisper) each run an operation on a
team of threads that spin while they wait for one another. With both
models' teams on the same cores at once (by default each takes every core,
or four), a team keeps waiting for a member that the other team has
descheduled, and both run far slower than one after the other: on 2 cores,
eight people dictating at once left their corrections waiting seconds behind
the Whisper decodes running next to them (``benchmarks/bench_dictation.py``).

So every CPU-bound model step takes its turn on ``CPU``, a process-wide FIFO
gate (the cores are the process's): the LLM batch loop for one
``llama_decode`` (one token for every running sequence, or a prefill chunk:
tens of milliseconds), Whisper for one piece of work (features and language
detection, one segment, one batch of live windows). A turn is short, so a
final's decode waits at most one LLM step, and the LLM waits at most one
Whisper segment. Work on a GPU does not take a turn (``on_cpu`` False).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class ComputeGate:
    """A fair lock: whoever asked first computes next, so no model starves the other.

    (``threading.Lock`` is not fair: the batch loop releasing and taking it
    again in a tight loop would keep Whisper out.)
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._queue: deque[object] = deque()
        self._busy = False
        self.turns = 0  # turns taken, for tests and status

    @contextmanager
    def turn(self, on_cpu: bool = True) -> Iterator[None]:
        """Hold the CPU for the ``with`` block; a no-op when ``on_cpu`` is False."""
        if not on_cpu:
            yield
            return
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            while self._busy or self._queue[0] is not ticket:
                self._changed.wait()
            self._queue.popleft()
            self._busy = True
            self.turns += 1
        try:
            yield
        finally:
            with self._changed:
                self._busy = False
                self._changed.notify_all()

    @property
    def waiting(self) -> int:
        """Steps waiting for their turn now."""
        return len(self._queue)


CPU = ComputeGate()
"""The gate of this process's CPU cores, shared by every model in it."""
