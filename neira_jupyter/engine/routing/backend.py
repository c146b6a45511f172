"""What the router works with: backends, routes, switches, its knobs and its actions.

A ``Backend`` is one place a request can go (the local primary, the local
fallback, a remote API) plus what the router counts about it: requests in
flight, consecutive failures, a pending load or unload. A ``Route`` is the
router's answer for one request; a ``Switch`` one change of route.
``RouterActions`` is how the router asks the engine to load or unload a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ..llm import LanguageModel
from ..resident import LoadRetry
from .estimate import MemoryEstimate

__all__ = ["ROLES", "Backend", "Route", "RouterActions", "RouterConfig", "Switch"]

ROLES = ("primary", "fallback", "remote")
"""The backends in the order the router prefers them."""


@dataclass
class Backend:
    """One place a request can go, and what the router knows about it."""

    role: str  # primary | fallback | remote
    model: LanguageModel
    local: bool = True
    estimate: MemoryEstimate | None = None
    inflight: int = 0
    started: int = 0  # requests ever routed here (``acquire``)
    failures: int = 0  # consecutive
    last_failure: str | None = None
    tripped_at: float | None = None
    pending: str | None = None  # "load" / "unload" while the engine carries it out
    released_at: int | None = None  # MemoryWatch.reading_count when it was unloaded
    load_retry: LoadRetry = field(default_factory=LoadRetry)

    @property
    def name(self) -> str:
        return self.model.name


@dataclass(frozen=True)
class Claim:
    """One request's hold on a backend, from ``ModelRouter.acquire`` to ``release``.

    ``alone``: nothing else ran on the backend when it started; with
    ``ticket`` (``Backend.started`` then) the router tells at ``release``
    whether anything started while it ran.
    """

    backend: Backend
    alone: bool
    ticket: int

    @property
    def had_the_model_alone(self) -> bool:
        """True when no other request ran on the backend at any time during this one."""
        return self.alone and self.backend.started == self.ticket


@dataclass
class Route:
    """Which backend serves a request, and why it is not the first choice."""

    backend: str  # primary | fallback | remote | degraded
    model: LanguageModel | None
    reason: str
    target: Backend | None = None


@dataclass(frozen=True)
class Switch:
    """One change of route."""

    time: float
    from_: str
    to: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "from": self.from_, "to": self.to, "reason": self.reason}


@dataclass(frozen=True)
class RouterConfig:
    """The seed's ``[fallback_rules]`` plus this router's own knobs.

    These defaults are the engine's own; ``NeiraApp``'s traits take theirs from here.
    """

    max_local_attempts: int = 2
    local_timeout_ms: int = 180  # 0: no first-token budget
    quick_max_tokens: int = 64
    failure_cooldown_s: float = 60.0
    allow_external_api: bool = False
    unload_on_pressure: bool = True
    # load the route's model before the first request needs it
    preload: bool = True
    # this many waiting for a local model: the remote takes the next
    overflow_queue: int = 0
    history: int = 100  # route switches kept for status


class RouterActions(Protocol):
    """How the router gets a model loaded or unloaded (on the model's own worker)."""

    def load(self, backend: Backend) -> None: ...

    def unload(self, backend: Backend) -> None: ...
