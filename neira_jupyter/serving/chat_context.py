"""What the chat may see of the notebook: the browser's snapshot, kept per user.

The server does not know which notebook is active in a browser, nor its
unsaved cells and outputs; the lab extension does. It posts a
``NotebookSnapshot`` (``POST neira/chat/context``) when the active cell or
the notebook changes and when the chat input takes the focus: the active
notebook's path and kernel, its cells (source, outputs already trimmed to
text), which cell is active, the selected text, and the last error. The
``SnapshotStore`` keeps the latest one per user; the Neira persona reads the
one of the user it answers. Nothing is written to disk.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_CELLS = 400
MAX_SOURCE_CHARS = 20_000
MAX_OUTPUT_CHARS = 4_000
KERNEL_ID_PATTERN = r"^[0-9a-fA-F-]{1,64}$"

Source = Annotated[str, Field(max_length=MAX_SOURCE_CHARS)]
Output = Annotated[str, Field(max_length=MAX_OUTPUT_CHARS)]


class SnapshotModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CellSnapshot(SnapshotModel):
    """One cell: its kind, source and outputs as plain text (the browser trims them)."""

    kind: Literal["code", "markdown", "raw"] = "code"
    source: Source = ""
    outputs: Output = ""


class ErrorSnapshot(SnapshotModel):
    """The last error output in the notebook: its cell and traceback (ANSI codes removed)."""

    cell: int = Field(ge=0, lt=MAX_CELLS)
    ename: Annotated[str, Field(max_length=200)] = ""
    evalue: Annotated[str, Field(max_length=2_000)] = ""
    traceback: Output = ""


class NotebookSnapshot(SnapshotModel):
    """The body of ``POST neira/chat/context``: the active notebook as the browser sees it."""

    path: Annotated[str, Field(max_length=1_000)] = ""
    kernel_id: Annotated[str, Field(pattern=KERNEL_ID_PATTERN)] | None = None
    active: int = Field(0, ge=0, lt=MAX_CELLS)
    cells: list[CellSnapshot] = Field(default_factory=list, max_length=MAX_CELLS)
    selection: Source = ""
    error: ErrorSnapshot | None = None


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


__all__ = [
    "CellSnapshot",
    "ErrorSnapshot",
    "NotebookSnapshot",
    "SnapshotStore",
]
