"""``ModelRouter``: which backend serves the next request -- primary, fallback, remote, degraded.

The order is fixed: local primary, local fallback, remote OpenAI-compatible
API (only with ``allow_external_api``), then degraded (nothing can serve:
generation answers 503, correction returns the raw text). Which backends are
skipped, and why, is ``eligibility``'s rule; the router acts on its decision.

Switching back is automatic: every memory reading, load, unload and
request re-evaluates the route (``refresh``). Going back up (fallback -> primary) is
make-before-break: the fallback keeps serving while the primary loads.
Going down under pressure is break-before-make: new requests queue behind
the fallback's load, the primary is unloaded to give the memory back.

Requests in flight are never moved: the router counts them per backend
(``acquire``/``release``) and unloads a model only when none is left; a
request carries the backend it was routed to until it ends. Every change
of route is a ``Switch`` (time, from, to, why), kept in the status history
and logged on the ``neira_jupyter`` logger.

The router decides; the engine acts. Loads and unloads are requested through
``RouterActions`` (the engine queues them on the model's own worker lane),
and their completion is reported back with ``action_done()``. ``status()``
only reads: it reports the route of the last ``refresh`` and starts nothing.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..types import BadRequest, GenerationOptions, ModelState, NoModelAvailable
from .backend import ROLES, Backend, Claim, Route, RouterActions, RouterConfig, Switch
from .eligibility import Decision, Eligibility, pressure_blocks
from .pressure import MemoryWatch, PressureLevel

log = logging.getLogger("neira_jupyter")

__all__ = ["ModelRouter"]


@dataclass
class ModelRouter:
    """Routes requests across backends; see the module docstring for the rules."""

    backends: list[Backend]
    actions: RouterActions
    watch: MemoryWatch | None = None
    config: RouterConfig = field(default_factory=RouterConfig)
    clock: Callable[[], float] = time.monotonic
    enabled: bool = True
    disabled_reason: str = "the language model is disabled (LLM_ENABLED=false)"
    on_switch: Callable[[Switch], None] | None = None  # told of every change of route

    def __post_init__(self) -> None:
        self.backends = sorted(self.backends, key=lambda b: ROLES.index(b.role))
        self.history: deque[Switch] = deque(maxlen=self.config.history)
        self._current: str | None = None
        self._reason = ""
        self._since = time.time()
        self._epoch = 0
        self._route: Route | None = None  # what the last refresh decided

    # -- queries -----------------------------------------------------------------
    def backend(self, role: str) -> Backend | None:
        return next((b for b in self.backends if b.role == role), None)

    def by_name(self, name: str) -> Backend | None:
        return next((b for b in self.backends if b.name == name), None)

    @property
    def level(self) -> PressureLevel:
        return self._rules().level

    def _rules(self) -> Eligibility:
        """Which backends can serve, read from the router's current fields (tests change them)."""
        return Eligibility(self.backends, self.config, self.watch, self.clock)

    def _decide(self) -> Decision:
        if not self.enabled:
            return Decision(None, self.disabled_reason)
        return self._rules().decide()

    # -- the route -------------------------------------------------------------------
    def refresh(self) -> Route:
        """Re-evaluate the route, record a switch, and start the loads/unloads it needs."""
        rules = self._rules()
        for b in self.backends:
            if b.tripped_at is not None and rules.cooldown_left(b) == 0:
                b.tripped_at = None  # cooldown over: give it another chance
                b.failures = 0
        decision = self._decide()
        to = decision.backend.role if decision.backend is not None else "degraded"
        if to != self._current:
            if self._current is not None:
                switch = Switch(time.time(), self._current, to, decision.reason)
                self.history.append(switch)
                log.warning("neira: route %s -> %s: %s", switch.from_, switch.to, switch.reason)
                if self.on_switch is not None:
                    self.on_switch(switch)
            else:
                log.info("neira: route %s: %s", to, decision.reason)
            self._current = to
            self._since = time.time()
        self._reason = decision.reason
        epoch = self._epoch
        self._maintain(decision)
        if self._epoch != epoch:  # an action finished synchronously: decide again
            return self.refresh()
        self._route = decision.as_route()
        return self._route

    def route(self, model: str = "auto") -> Route:
        """The route for a new request. Raises ``NoModelAvailable`` or ``BadRequest``.

        A request (never a status read) is what lets a failed load be retried
        once its backoff has passed.
        """
        now = self.clock()
        for backend in self.backends:
            if backend.local:
                backend.load_retry.due(backend.model, now)
        current = self.refresh()
        if model != "auto":
            named = self.by_name(model)
            if named is None:
                known = ", ".join(["auto", *(b.name for b in self.backends)])
                raise BadRequest(f"unknown model {model!r}; configured models: {known}")
            if not self.enabled:
                raise NoModelAvailable(self.disabled_reason)
            why = self._rules().unusable(named, self.level)
            if why is None:
                return Route(named.role, named.model, f"requested by name: {model}", named)
            if named.model.state is ModelState.FAILED or current.target is None:
                raise NoModelAvailable(f"no language model can serve: {why}")
            return Route(
                current.backend,
                current.model,
                f"{why}; served by {current.backend} instead",
                current.target,
            )
        if current.target is None:
            raise NoModelAvailable(current.reason)
        return current

    def available(self) -> str | None:
        """Why no backend could take an ``auto`` request now, or None when one could.

        Read-only, unlike ``route``: no refresh, no load, no retry. A failed local
        backend whose reload the next request would start (``LoadRetry.may_retry``)
        counts as able, so asking never keeps a model from being retried. The reason
        is the message ``route`` would raise.
        """
        decision = self._decide()
        if decision.backend is not None:
            return None
        now = self.clock()
        retryable = any(b.local and b.load_retry.may_retry(b.model, now) for b in self.backends)
        return None if self.enabled and retryable else decision.reason

    def overflow(self, route: Route, waiting: int) -> Route:
        """``route``, or the remote when ``waiting`` requests already queue for its local model."""
        limit = self.config.overflow_queue
        remote = self.backend("remote")
        local = route.target
        if not limit or waiting < limit or remote is None or local is None or not local.local:
            return route
        if self._rules().unusable(remote, self.level) is not None:
            return route  # a tripped or refused remote: wait for the local model
        reason = (
            f"{waiting} requests wait for {route.backend} {local.name!r} "
            f"(remote_overflow_queue={limit}): served by the remote API"
        )
        return Route("remote", remote.model, reason, remote)

    def _maintain(self, decision: Decision) -> None:
        """Load what the route needs; unload idle local models it no longer needs."""
        active = decision.backend
        wanted = {b.role for b in (active, decision.loading_first) if b is not None}
        epoch = self._epoch
        for b in self.backends:
            if self._epoch != epoch:
                return  # an action finished synchronously and refreshed with a newer decision
            if not b.local or b.pending is not None:
                continue
            state = b.model.state
            if b.role in wanted:
                first_choice = b is decision.loading_first
                if state is ModelState.UNLOADED and (self.config.preload or first_choice):
                    b.pending = "load"
                    self.actions.load(b)
            elif state is ModelState.READY and b.inflight == 0 and self._unneeded(b, active):
                b.pending = "unload"
                log.info("neira: unloading %s %r (%s)", b.role, b.name, self._reason)
                self.actions.unload(b)

    def _unneeded(self, b: Backend, active: Backend | None) -> bool:
        if pressure_blocks(b, self.level):
            return self.config.unload_on_pressure
        if active is None or not active.local:
            return False
        # ranks below the active local backend: only explicit requests use it
        return ROLES.index(b.role) > ROLES.index(active.role)

    def action_done(self, backend: Backend) -> None:
        """The engine finished a load/unload of ``backend``: re-evaluate."""
        if backend.pending == "unload" and self.watch is not None:
            backend.released_at = self.watch.reading_count
        backend.pending = None
        self._epoch += 1
        self.refresh()

    # -- outcomes --------------------------------------------------------------------
    def acquire(self, backend: Backend) -> Claim:
        """A request was routed to ``backend``; it stays there until ``release``."""
        claim = Claim(backend, alone=backend.inflight == 0, ticket=backend.started + 1)
        backend.inflight += 1
        backend.started += 1
        return claim

    def release(
        self,
        backend: Backend,
        error: BaseException | None = None,
        first_token_ms: float | None = None,
        quick: bool = False,
        claim: Claim | None = None,
    ) -> None:
        """A request on ``backend`` ended: count failures and slow starts, re-evaluate.

        ``first_token_ms`` is the wait for the first token beyond evaluating the
        prompt (``Timings.start_ms``), so a long prompt is not a slow start; a
        ``BadRequest`` is the request's fault and never the model's. With its
        ``claim``, a slow start counts only when the request had the model to
        itself (``Claim.had_the_model_alone``).
        """
        backend.inflight = max(0, backend.inflight - 1)
        budget = self.config.local_timeout_ms
        if isinstance(error, BadRequest):
            pass  # the request's fault (e.g. longer than the context), not the model's
        elif error is not None:
            self.record_failure(backend, f"{type(error).__name__}: {error}")
        elif (
            quick
            and (claim is None or claim.had_the_model_alone)
            and budget > 0
            and first_token_ms is not None
            and first_token_ms > budget
            and self._has_alternative(backend)
        ):
            self.record_failure(
                backend, f"first token after {first_token_ms:.0f} ms > budget {budget} ms"
            )
        elif first_token_ms is not None:
            backend.failures = 0
        self.refresh()

    def _has_alternative(self, backend: Backend) -> bool:
        """Whether another backend could take over; a slow start of the only one is no failure."""
        rules = self._rules()
        level = rules.level
        return any(o is not backend and rules.unusable(o, level) is None for o in self.backends)

    def record_failure(self, backend: Backend, message: str) -> None:
        backend.failures += 1
        backend.last_failure = message
        log.warning(
            "neira: %s %r failure %d/%d: %s",
            backend.role,
            backend.name,
            backend.failures,
            self.config.max_local_attempts,
            message,
        )
        if backend.failures >= self.config.max_local_attempts and backend.tripped_at is None:
            backend.tripped_at = self.clock()

    def is_quick(self, options: GenerationOptions) -> bool:
        """Whether a request falls under the first-token budget (``local_timeout_ms``)."""
        return options.max_tokens <= self.config.quick_max_tokens

    # -- status --------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """``route`` (current backend, model, reason, since), per-backend state, history.

        Read-only: it reports what the last ``refresh`` decided (before the first
        one, what a refresh would decide) and starts no load or unload.
        """
        route = self._route if self._route is not None else self._decide().as_route()
        return {
            "route": {
                "backend": route.backend,
                "model": route.model.name if route.model is not None else None,
                "reason": route.reason,
                "since": self._since,
                "pressure": self.level.value,
            },
            "backends": {
                b.role: {
                    "model": b.name,
                    "state": b.model.state.value,
                    "inflight": b.inflight,
                    "failures": b.failures,
                    "last_failure": b.last_failure,
                    "pending": b.pending,
                    "estimate": b.estimate.to_dict() if b.estimate is not None else None,
                }
                for b in self.backends
            },
            "switches": [s.to_dict() for s in self.history],
        }
