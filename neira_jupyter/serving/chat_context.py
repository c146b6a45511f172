"""What the chat may see of the notebook: the browser's snapshot, kept per user.

The server does not know which notebook is active in a browser, nor its
unsaved cells and outputs; the lab extension does. It posts a
``NotebookSnapshot`` (``context.snapshot``; ``POST neira/chat/context``) when
the active cell or the notebook changes and when the chat input takes the
focus: the active notebook's path and kernel, its cells (source, outputs
already trimmed to text), which cell is active, the selected text, and the
last error. The ``SnapshotStore`` keeps the latest one per user; the Neira
persona reads the one of the user it answers. Nothing is written to disk.
"""

from __future__ import annotations

import time

from ..context.snapshot import NotebookSnapshot


class SnapshotStore:
    """The latest snapshot of each user (bounded: one per user, replaced on every post)."""

    def __init__(self, max_users: int = 1_000) -> None:
        self._snapshots: dict[str, tuple[float, NotebookSnapshot]] = {}
        self._max_users = max_users

    def put(self, user: str, snapshot: NotebookSnapshot) -> None:
        self._snapshots.pop(user, None)
        self._snapshots[user] = (time.monotonic(), snapshot)
        while len(self._snapshots) > self._max_users:  # the oldest go first
            self._snapshots.pop(next(iter(self._snapshots)))

    def get(self, user: str) -> NotebookSnapshot | None:
        found = self._snapshots.get(user)
        return found[1] if found is not None else None

    def clear(self, user: str) -> None:
        self._snapshots.pop(user, None)


__all__ = ["SnapshotStore"]
