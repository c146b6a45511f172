"""Which backends can take new requests now, and which one the route wants.

A backend is skipped, and the reason kept for the response and the status, when

* it failed to load (missing file, corrupt GGUF, out of memory; sticky, the
  error is shown in status until the server restarts);
* memory pressure is ``high`` (the primary only) or ``critical`` (every local
  model), as ``MemoryWatch`` reports it, hysteresis included;
* it is not loaded and its estimate (file + KV cache, see
  ``estimate.estimate_model_memory``) does not fit in free memory (plus what
  unloading a pressured model gives back);
* it failed ``max_local_attempts`` times in a row -- errors, or a quick
  request (``max_tokens <= quick_max_tokens``) whose first token missed
  ``local_timeout_ms`` while it had the model to itself -- and
  ``failure_cooldown_s`` has not passed yet. (A request that waited behind
  others sharing the model measures the load, not the model: switching to
  another model on the same cores would not help it; overflow to a remote
  is ``remote_overflow_queue``'s job.)

The first usable backend in ``ROLES`` order wins, except that a ready local
backend serves while a better one loads (make-before-break).

Everything here only reads: it changes no backend and starts no load or
unload. ``ModelRouter`` acts on the ``Decision``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..types import ModelState
from .backend import Backend, Route, RouterConfig
from .pressure import MemoryWatch, PressureLevel
from .readings import MIB

__all__ = ["Decision", "Eligibility", "pressure_blocks"]


@dataclass
class Decision:
    """The backend the route wants now, why, and the better one loading meanwhile."""

    backend: Backend | None
    reason: str
    loading_first: Backend | None = None  # the better backend being loaded meanwhile

    def as_route(self) -> Route:
        chosen = self.backend
        if chosen is None:
            return Route("degraded", None, self.reason)
        return Route(chosen.role, chosen.model, self.reason, chosen)


def pressure_blocks(b: Backend, level: PressureLevel) -> bool:
    """Whether memory pressure ``level`` keeps local backend ``b`` from new requests."""
    if not b.local:
        return False
    return level is PressureLevel.CRITICAL or (level is PressureLevel.HIGH and b.role == "primary")


@dataclass(frozen=True)
class Eligibility:
    """The rules of the module docstring, over the router's backends (in ``ROLES`` order)."""

    backends: Sequence[Backend]
    config: RouterConfig
    watch: MemoryWatch | None
    clock: Callable[[], float]

    @property
    def level(self) -> PressureLevel:
        return self.watch.level if self.watch is not None else PressureLevel.OK

    def _free_bytes(self) -> int | None:
        return self.watch.free_bytes() if self.watch is not None else None

    def unusable(self, b: Backend, level: PressureLevel) -> str | None:
        """Why ``b`` cannot take new requests now (None: it can)."""
        label = f"{b.role} {b.name!r}"
        if not b.local and not self.config.allow_external_api:
            return f"{label}: external APIs are not allowed (allow_external_api)"
        if b.model.state is ModelState.FAILED:
            return f"{label} failed to load: {b.model.error}"
        if pressure_blocks(b, level):
            why = self.watch.reason if self.watch is not None else ""
            return f"{label} not used: memory pressure {level.value} ({why})"
        left = self.cooldown_left(b)
        if left > 0:
            return (
                f"{label} failed {b.failures} times in a row (last: {b.last_failure}); "
                f"retried in {left:.0f} s"
            )
        if b.local and b.model.state is ModelState.UNLOADED and b.estimate is not None:
            free = self._free_bytes()
            if free is not None:
                reclaim = sum(
                    o.estimate.total_bytes
                    for o in self.backends
                    if o is not b and o.estimate is not None and self._gives_back(o, level)
                )
                if b.estimate.total_bytes > free + reclaim:
                    return (
                        f"{label} needs ~{b.estimate.total_bytes / MIB:.0f} MiB, "
                        f"only {(free + reclaim) / MIB:.0f} MiB free"
                    )
        return None

    def cooldown_left(self, b: Backend) -> float:
        """Seconds until a tripped backend gets another chance (0: it is not tripped)."""
        if b.tripped_at is None:
            return 0.0
        return max(0.0, self.config.failure_cooldown_s - (self.clock() - b.tripped_at))

    def _gives_back(self, o: Backend, level: PressureLevel) -> bool:
        """Whether ``o``'s memory is about to come back, or came back after the last reading."""
        if o.model.state is ModelState.READY:
            return pressure_blocks(o, level) and self.config.unload_on_pressure
        count = self.watch.reading_count if self.watch is not None else 0
        return o.released_at is not None and o.released_at == count

    def decide(self) -> Decision:
        """The backend the route wants now (None: degraded), with the reasons others were not."""
        level = self.level
        reasons: list[str] = []
        usable: list[Backend] = []
        for role in ("primary", "fallback"):
            if not any(b.role == role for b in self.backends):
                reasons.append(f"no {role} model configured")
        for b in self.backends:
            if not b.local and not self.config.allow_external_api:
                continue
            why = self.unusable(b, level)
            if why is None:
                usable.append(b)
            elif not usable:
                reasons.append(why)
        if not usable:
            return Decision(None, "no language model can serve: " + "; ".join(reasons))
        first = usable[0]
        if first.local and first.model.state is not ModelState.READY:
            ready = next(
                (b for b in usable[1:] if b.local and b.model.state is ModelState.READY), None
            )
            if ready is not None:  # make-before-break: serve from it while `first` loads
                reasons.append(f"{first.role} {first.name!r} is loading")
                return Decision(ready, "; ".join(reasons), loading_first=first)
        reason = "; ".join(r for r in reasons if not r.startswith("no fallback"))
        return Decision(first, reason or f"{first.role} {first.name!r} available")
