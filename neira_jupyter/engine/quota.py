"""Per-user quotas of a shared engine: requests per minute, tokens and audio per day.

``QuotaPolicy`` holds the limits (0: none) and per-group overrides: a user in
several groups with overrides gets the most generous value of each limit.
``QuotaLedger`` admits or refuses a request (``QuotaExceeded``: 429 with
``Retry-After`` and a message naming the limit) and records what was used;
usage resets per rolling minute (requests) and per UTC day (tokens, audio).
Requests per minute counts generations (corrections included); audio counts
each whole-file transcription (finished or not) and each committed segment of
a live recording, never its partial re-decodes.
The ledger is both the engine's admission hook (``engine.admission``, asked
at ``generate``, ``transcribe`` and every live decode) and one of its usage
observers (``engine.usage_observers``: tokens counted however a stream ends,
so a client that leaves mid-stream still pays for what it got); the Hub
service installs it as both. Concurrent plus queued requests per user stay the
scheduler's ``per_user`` cap (``NeiraApp.max_jobs_per_user``).

No Jupyter imports: the Hub service supplies each user's groups
(``QuotaLedger.set_groups``) as it authenticates them.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .admission import RequestKind
from .types import QueueFull

DAY_S = 86_400.0


class QuotaExceeded(QueueFull):
    """A per-user limit is used up: 429, ``Retry-After``, and the limit's name."""

    def __init__(self, limit: str, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after)
        self.limit = limit


@dataclass(frozen=True)
class Limits:
    """One user's limits; 0 means no limit."""

    requests_per_minute: int = 0
    tokens_per_day: int = 0
    audio_seconds_per_day: float = 0.0

    def merged(self, other: Limits) -> Limits:
        """The more generous of two limits, field by field (0, no limit, wins)."""
        values = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            values[f.name] = 0 if not a or not b else max(a, b)
        return Limits(**values)


@dataclass(frozen=True)
class QuotaPolicy:
    """Default limits and per-group overrides (a group's dict may set any subset)."""

    default: Limits = Limits()
    groups: Mapping[str, Limits] = field(default_factory=dict)

    @classmethod
    def from_options(
        cls, default: Limits, group_limits: Mapping[str, Mapping[str, Any]]
    ) -> QuotaPolicy:
        """A policy from plain values, e.g. ``{"staff": {"tokens_per_day": 0}}``."""
        known = {f.name for f in fields(Limits)}
        groups = {}
        for group, values in group_limits.items():
            unknown = set(values) - known
            if unknown:
                raise ValueError(f"group {group!r}: unknown limits {sorted(unknown)}")
            groups[group] = replace(default, **dict(values))
        return cls(default, groups)

    def limits_for(self, groups: Sequence[str]) -> Limits:
        """The limits of a user in ``groups``: the default, or the best override."""
        overrides = [self.groups[g] for g in groups if g in self.groups]
        if not overrides:
            return self.default
        best = overrides[0]
        for other in overrides[1:]:
            best = best.merged(other)
        return best


@dataclass
class DailyUsage:
    """What one user used: requests in the last minute, tokens and audio today."""

    recent: deque[float] = field(default_factory=deque)
    day: int = 0
    tokens: int = 0
    audio_seconds: float = 0.0
    requests: int = 0


class QuotaLedger:
    """Admits requests within each user's limits and records usage (thread-safe)."""

    def __init__(self, policy: QuotaPolicy, clock: Callable[[], float] = time.time) -> None:
        self.policy = policy
        self.clock = clock
        self._usage: dict[str, DailyUsage] = {}
        self._groups: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def set_groups(self, user: str, groups: Sequence[str]) -> None:
        """Remember ``user``'s groups (the Hub says so on every authenticated request)."""
        with self._lock:
            self._groups[user] = tuple(groups)

    def limits(self, user: str) -> Limits:
        return self.policy.limits_for(self._groups.get(user, ()))

    def _current(self, user: str, now: float) -> DailyUsage:
        usage = self._usage.setdefault(user, DailyUsage(day=int(now // DAY_S)))
        if usage.day != int(now // DAY_S):  # a new UTC day
            usage.day, usage.tokens, usage.audio_seconds = int(now // DAY_S), 0, 0.0
        while usage.recent and usage.recent[0] <= now - 60.0:
            usage.recent.popleft()
        return usage

    def admit(self, user: str, kind: RequestKind) -> None:
        """Count one request of ``kind`` ("generate", "transcribe"), or raise ``QuotaExceeded``."""
        now = self.clock()
        limits = self.limits(user)
        with self._lock:
            usage = self._current(user, now)
            to_midnight = max(1, math.ceil((usage.day + 1) * DAY_S - now))
            rated = kind == "generate"  # a live stream's many partial decodes are not requests
            if (
                rated
                and limits.requests_per_minute
                and (len(usage.recent) >= limits.requests_per_minute)
            ):
                wait = max(1, math.ceil(usage.recent[0] + 60.0 - now))
                raise QuotaExceeded(
                    "requests_per_minute",
                    f"limit requests_per_minute reached: {limits.requests_per_minute} "
                    f"requests per minute; try again in {wait} s",
                    wait,
                )
            daily = {
                "generate": ("tokens_per_day", usage.tokens, "generated tokens"),
                "transcribe": ("audio_seconds_per_day", usage.audio_seconds, "audio seconds"),
            }
            if kind in daily:
                name, used, what = daily[kind]
                cap = getattr(limits, name)
                if cap and used >= cap:
                    raise QuotaExceeded(
                        name,
                        f"limit {name} reached: {used:.0f} of {cap:g} {what} used today (UTC)",
                        to_midnight,
                    )
            if rated:
                usage.recent.append(now)
            usage.requests += 1

    def add_tokens(self, user: str, tokens: int) -> None:
        """Count ``tokens`` generated for ``user`` today."""
        with self._lock:
            self._current(user, self.clock()).tokens += tokens

    def add_audio(self, user: str, seconds: float) -> None:
        """Count ``seconds`` of ``user``'s audio decoded today."""
        with self._lock:
            self._current(user, self.clock()).audio_seconds += seconds

    def report(self) -> dict[str, dict[str, Any]]:
        """Per user: usage today and in the last minute, and their limits."""
        now = self.clock()
        with self._lock:
            users = list(self._usage)
            rows = {}
            for user in users:
                usage = self._current(user, now)
                limits = self.limits(user)
                rows[user] = {
                    "groups": list(self._groups.get(user, ())),
                    "requests_last_minute": len(usage.recent),
                    "requests_total": usage.requests,
                    "tokens_today": usage.tokens,
                    "audio_seconds_today": round(usage.audio_seconds, 3),
                    "limits": {f.name: getattr(limits, f.name) for f in fields(Limits)},
                }
        return rows
