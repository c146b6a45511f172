"""``ComputeGate``: the CPU's cores, lent to one model call at a time, fairly between models.

On a CPU, llama.cpp and CTranslate2 each run a call on as many threads as
there are cores: a step of the LLM's batch loop, a Whisper window, a batch of
embeddings. Run at once, they ask for twice the cores there are, and
llama.cpp's threads meet at every operation of a step by spinning: when the
OS has put one of them aside, the others spin until it is back, many times
per token. Measured on the 2-core machine while other processes ran, one
correction took 2.5 times as long on 2 threads as on 1
(``benchmarks/bench_contention.py`` measures the gate's effect directly).

So every model call that computes on the CPU holds the gate: one call at a
time, each with all the cores, and no time lost to spinning. The calls are
short (a decode step is tens of milliseconds, a live window a few hundred),
so a call that waits, waits for about one of them.

Between parties (``"llm"``, ``"speech"``, ``"embedding"``) the gate is fair in
time, not in calls: of the parties waiting, the one that has held it least
goes next (its held time works as a virtual clock; a party that was idle
starts from the least of the busy ones', so it cannot save up a burst).
Whisper's long calls thus do not starve the LLM's short steps, nor the
reverse. Within a party, first come, first served. A call already holding
the gate on the same thread goes through (a suspect window decoded again).

Models on a GPU do not take the gate (``hold`` with a device other than
``"cpu"``): their work runs on the card. This module imports nothing but the
standard library.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Iterator

__all__ = ["CPU_GATE", "ComputeGate"]


class ComputeGate:
    """One model call at a time on the CPU; the party that has held it least goes first.

    ``enabled`` False (``NeiraApp.compute_gate`` off) lets every call through at once.
    """

    enabled: bool = True

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._tickets = itertools.count()
        self._waiting: list[tuple[int, str]] = []  # (ticket, party), in arrival order
        self._holder: int | None = None  # the thread holding the gate
        self._holding: str | None = None  # and its party
        self._clock: dict[str, float] = {}  # each party's virtual clock: seconds held
        self._held: dict[str, float] = {}
        self._calls: dict[str, int] = {}
        self._waited: dict[str, float] = {}
        self._local = threading.local()

    @contextlib.contextmanager
    def hold(self, party: str, device: str = "cpu") -> Iterator[None]:
        """Hold the gate for one call of ``party``'s model on ``device`` (not held off the CPU)."""
        me = threading.get_ident()
        if device != "cpu" or not self.enabled or self._holder == me:
            yield
            return
        asked = time.perf_counter()
        with self._cond:
            self._clock.setdefault(party, 0.0)
            parties = [p for _, p in self._waiting] + [self._holding or party]
            busy = [self._clock[p] for p in parties if p != party]
            if busy:  # an idle party starts level with the busy ones, not ahead
                self._clock[party] = max(self._clock.get(party, 0.0), min(busy))
            ticket = next(self._tickets)
            self._waiting.append((ticket, party))
            while self._holder is not None or self._next() != ticket:
                self._cond.wait()
            self._waiting.remove((ticket, party))
            self._holder, self._holding = me, party
        began = time.perf_counter()
        try:
            yield
        finally:
            ended = time.perf_counter()
            with self._cond:
                self._clock[party] = self._clock.get(party, 0.0) + ended - began
                self._held[party] = self._held.get(party, 0.0) + ended - began
                self._calls[party] = self._calls.get(party, 0) + 1
                self._waited[party] = self._waited.get(party, 0.0) + began - asked
                self._holder = self._holding = None
                self._cond.notify_all()

    def _next(self) -> int:
        """The ticket to go next: the earliest of the party with the least time held."""
        ticket, _ = min(self._waiting, key=lambda w: (self._clock.get(w[1], 0.0), w[0]))
        return ticket

    def stats(self) -> dict[str, dict[str, float]]:
        """Per party: calls, seconds held, and seconds spent waiting for the gate."""
        with self._cond:
            return {
                party: {
                    "calls": self._calls.get(party, 0),
                    "held_s": round(self._held.get(party, 0.0), 3),
                    "waited_s": round(self._waited.get(party, 0.0), 3),
                }
                for party in sorted(self._calls)
            }


CPU_GATE = ComputeGate()
"""The gate every resident model on this process's CPU shares."""
