"""``MemoryWatch``: memory readings, taken on an interval, turned into pressure levels.

``MemoryWatch`` reads its ``MemorySource`` every ``interval_s`` (an asyncio
task; the read itself runs in a thread so a slow NVML call never blocks the
loop) and turns the smallest free figure into a ``PressureLevel`` with
hysteresis: the level rises as soon as free memory falls below ``low_mib``
(or ``critical_mib``), and falls back to ``ok`` only after at least
``recover_mib`` stayed free for ``recover_s`` seconds in a row. ``poll()``
takes one reading synchronously, with an injectable clock, so the state
machine is testable without sleeping.

Two kinds of listener are told what happens: level listeners on every change
of level, reading listeners after every reading (the engine re-evaluates its
route there, since free memory decides which model fits).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .readings import MIB, MemoryReading, MemorySource

log = logging.getLogger("neira_jupyter")

__all__ = ["MEMORY_INTERVAL_S", "MemoryWatch", "PressureLevel", "PressureThresholds"]

MEMORY_INTERVAL_S = 1.0
"""Seconds between memory readings by default (``NeiraApp.memory_interval``)."""


class PressureLevel(enum.StrEnum):
    """How tight memory is. ``high``: serve from the fallback; ``critical``: from no local model."""

    OK = "ok"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class PressureThresholds:
    """When the level rises and when it falls back (hysteresis); the defaults are the
    engine's own; ``NeiraApp.memory_*`` take theirs from here."""

    low_mib: float = 1024.0
    recover_mib: float = 2048.0
    recover_s: float = 30.0
    critical_mib: float = 0.0  # 0: no critical level

    def __post_init__(self) -> None:
        if self.recover_mib < self.low_mib:
            raise ValueError("memory_recover_mib must be at least memory_low_mib")
        if self.critical_mib > self.low_mib:
            raise ValueError("memory_critical_mib must not exceed memory_low_mib")
        if self.recover_s < 0:
            raise ValueError("memory_recover_seconds must not be negative")


Listener = Callable[[PressureLevel, PressureLevel, str], None]
ReadingListener = Callable[[], object]


@dataclass
class _State:
    level: PressureLevel = PressureLevel.OK
    readings: list[MemoryReading] = field(default_factory=list)
    updated: float | None = None  # wall-clock time of the last good reading
    error: str | None = None
    recovering_since: float | None = None
    reason: str = "no reading yet"


class MemoryWatch:
    """Readings of one ``MemorySource`` turned into a pressure level with hysteresis."""

    def __init__(
        self,
        source: MemorySource,
        thresholds: PressureThresholds | None = None,
        interval_s: float = MEMORY_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.thresholds = thresholds or PressureThresholds()
        self.interval_s = interval_s
        self._clock = clock
        self._state = _State()
        self._listeners: list[Listener] = []
        self._reading_listeners: list[ReadingListener] = []
        self._task: asyncio.Task[None] | None = None
        self.reading_count = 0  # readings taken so far: tells stale figures from fresh ones

    # -- readings ------------------------------------------------------------------
    @property
    def level(self) -> PressureLevel:
        return self._state.level

    @property
    def reason(self) -> str:
        """Why the level is what it is, in words."""
        return self._state.reason

    def free_bytes(self) -> int | None:
        """The smallest free figure of the last reading (None before the first one)."""
        readings = self._state.readings
        return min(r.free_bytes for r in readings) if readings else None

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(old, new, reason)`` whenever the level changes."""
        self._listeners.append(listener)

    def add_reading_listener(self, listener: ReadingListener) -> None:
        """Call ``listener()`` after every good reading, once the level is updated."""
        self._reading_listeners.append(listener)

    def poll(self) -> PressureLevel:
        """Take one reading now and update the level."""
        try:
            readings = self.source.read()
        except Exception as exc:
            self._record_error(exc)
            return self._state.level
        return self.update(readings)

    def _record_error(self, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        if message != self._state.error:
            log.warning("neira: memory reading from %s failed: %s", self.source.name, message)
        self._state.error = message  # the level stays where it was

    def update(self, readings: list[MemoryReading]) -> PressureLevel:
        """Feed readings (from ``poll`` or the background task) through the hysteresis."""
        state = self._state
        self.reading_count += 1
        state.readings = list(readings)
        state.updated = time.time()
        state.error = None
        if not readings:
            return state.level
        t = self.thresholds
        free_mib = min(r.free_bytes for r in readings) / MIB
        now = self._clock()
        old = state.level
        if t.critical_mib > 0 and free_mib < t.critical_mib:
            new = PressureLevel.CRITICAL
            state.recovering_since = None
            state.reason = f"{free_mib:.0f} MiB free < critical {t.critical_mib:.0f} MiB"
        elif free_mib < t.low_mib:
            new = PressureLevel.HIGH
            state.recovering_since = None
            state.reason = f"{free_mib:.0f} MiB free < {t.low_mib:.0f} MiB"
        elif old is PressureLevel.OK:
            new = PressureLevel.OK
            state.reason = f"{free_mib:.0f} MiB free"
        elif free_mib >= t.recover_mib:
            if state.recovering_since is None:
                state.recovering_since = now
            held = now - state.recovering_since
            if held >= t.recover_s:
                new = PressureLevel.OK
                state.recovering_since = None
                state.reason = (
                    f"{free_mib:.0f} MiB free; >= {t.recover_mib:.0f} MiB for {held:.1f} s"
                )
            else:
                new = PressureLevel.HIGH
                state.reason = (
                    f"{free_mib:.0f} MiB free, recovering: >= {t.recover_mib:.0f} MiB "
                    f"for {held:.1f} of {t.recover_s:.0f} s"
                )
        else:
            new = PressureLevel.HIGH  # above low, below recover: hold (and leave critical)
            state.recovering_since = None
            state.reason = (
                f"{free_mib:.0f} MiB free; waiting for >= {t.recover_mib:.0f} MiB "
                f"for {t.recover_s:.0f} s"
            )
        state.level = new
        if new is not old:
            log.warning(
                "neira: memory pressure %s -> %s (%s, source %s)",
                old.value,
                new.value,
                state.reason,
                self.source.name,
            )
            for listener in list(self._listeners):
                _notify(listener, old, new, state.reason)
        for reading_listener in list(self._reading_listeners):
            _notify(reading_listener)
        return new

    # -- background task -------------------------------------------------------------
    def start(self) -> None:
        """Read on an interval in an asyncio task of the running loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                readings = await asyncio.to_thread(self.source.read)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._record_error(exc)
            else:
                self.update(readings)
            await asyncio.sleep(self.interval_s)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        close = getattr(self.source, "close", None)
        if callable(close):
            await asyncio.to_thread(close)

    def status(self) -> dict[str, Any]:
        """The ``memory`` part of the status document."""
        state = self._state
        free = self.free_bytes()
        return {
            "source": self.source.name,
            "level": state.level.value,
            "reason": state.reason,
            "free_mib": round(free / MIB, 1) if free is not None else None,
            "readings": [r.to_dict() for r in state.readings],
            "updated": state.updated,
            "error": state.error,
            "interval_s": self.interval_s,
            "thresholds": asdict(self.thresholds),
        }


def _notify(listener: Callable[..., object], *args: Any) -> None:
    """Call one listener; its failure is logged, never raised into the watch."""
    try:
        listener(*args)
    except Exception:
        log.exception("neira: memory listener failed")
