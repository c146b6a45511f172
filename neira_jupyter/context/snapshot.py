"""The notebook as Neira sees it: cells, the active one, the selection, the last error.

The lab extension posts one as the body of ``POST neira/chat/context``
(labextension/src/chatContext.ts builds it from the open notebook); the
``%neira fix`` magic builds one from the kernel's own history
(``kernel.fix``), numbering cells by execution count (``first``). Bounded
and strict (unknown fields refused), so what the browser may send is limited.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_CELLS = 400
MAX_SOURCE_CHARS = 20_000
MAX_OUTPUT_CHARS = 4_000
MAX_ENAME_CHARS = 200
MAX_EVALUE_CHARS = 2_000
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
    ename: Annotated[str, Field(max_length=MAX_ENAME_CHARS)] = ""
    evalue: Annotated[str, Field(max_length=MAX_EVALUE_CHARS)] = ""
    traceback: Output = ""


class NotebookSnapshot(SnapshotModel):
    """The body of ``POST neira/chat/context``: the active notebook as the browser sees it."""

    path: Annotated[str, Field(max_length=1_000)] = ""
    kernel_id: Annotated[str, Field(pattern=KERNEL_ID_PATTERN)] | None = None
    active: int = Field(0, ge=0, lt=MAX_CELLS)
    cells: list[CellSnapshot] = Field(default_factory=list, max_length=MAX_CELLS)
    selection: Source = ""
    error: ErrorSnapshot | None = None
    first: int = Field(
        1, ge=1, description="The number the user knows the first cell by (cell i is first + i)."
    )

    def number(self, index: int) -> int:
        """The number of the cell at ``index`` as the user knows it."""
        return self.first + index


def trim_middle(text: str, limit: int) -> str:
    """``text`` cut in the middle to at most ``limit`` characters (its start and end say most)."""
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return f"{text[:half]}\n...\n{text[len(text) - half :]}"


__all__ = [
    "MAX_CELLS",
    "MAX_ENAME_CHARS",
    "MAX_EVALUE_CHARS",
    "MAX_OUTPUT_CHARS",
    "MAX_SOURCE_CHARS",
    "CellSnapshot",
    "ErrorSnapshot",
    "NotebookSnapshot",
    "trim_middle",
]
