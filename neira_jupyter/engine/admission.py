"""``Admission``: the hook that may refuse a request before the engine queues any work.

``NeiraEngine`` asks ``engine.admission.admit(user, kind)`` at each entry
point: ``generate`` (corrections included, since they generate) asks for
``"generate"``; ``transcribe`` and every live decode ask for ``"transcribe"``.
Admitting is returning; refusing is raising an ``EngineError`` (``QueueFull``
for a 429 with ``Retry-After``), which reaches the caller before anything is
queued. ``AdmitAll``, the engine's default, admits every request; the Hub
service installs its ``QuotaLedger`` (``quota``), which also observes the
usage it limits (``observe.UsageObserver``).
"""

from __future__ import annotations

from typing import Literal, Protocol

RequestKind = Literal["generate", "transcribe"]
"""What a request asks the engine for: a generation, or audio decoded."""


class Admission(Protocol):
    """Decides, per user and kind of request, whether the engine takes it."""

    def admit(self, user: str, kind: RequestKind) -> None:
        """Return to admit ``user``'s request of ``kind``; raise an ``EngineError`` to refuse."""


class AdmitAll:
    """The default admission: every request is taken (the scheduler's caps still apply)."""

    def admit(self, user: str, kind: RequestKind) -> None:
        """Admit it."""
