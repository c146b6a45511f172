"""Word-level diffs of a transcript: raw -> corrected, as steps, plain text and escaped HTML."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

__all__ = ["WordChange", "count_changes", "diff_html", "diff_text", "word_diff"]

_Op = Literal["equal", "replace", "delete", "insert"]


@dataclass(frozen=True)
class WordChange:
    """One step of a word-level diff: ``op`` is equal, replace, delete or insert."""

    op: _Op
    raw: str
    corrected: str


_OPS = frozenset({"equal", "replace", "delete", "insert"})


def word_diff(
    raw: str, corrected: str, changes: Sequence[Mapping[str, Any]] | None = None
) -> list[WordChange]:
    """The word-level diff of ``raw`` -> ``corrected``, as the server computed it.

    The server's ``correction.changes`` (``engine.correct.word_diff``) are used
    when they describe the whole text (their raw and corrected parts join back
    into the two texts, i.e. they include the ``equal`` runs). Without such
    changes (a degraded correction sends none) the texts are one step: equal,
    or one replacement; the kernel computes no diff of its own.
    """
    if changes:
        steps: list[WordChange] = []
        for change in changes:
            op = cast(_Op, str(change.get("op", "")))
            if op not in _OPS:
                steps = []
                break
            steps.append(
                WordChange(op, str(change.get("raw") or ""), str(change.get("corrected") or ""))
            )
        if steps and _joins_to(steps, raw, corrected):
            return steps
    if raw.split() == corrected.split():
        return [WordChange("equal", raw, raw)] if raw.strip() else []
    return [WordChange("replace", raw, corrected)]


def _joins_to(steps: Sequence[WordChange], raw: str, corrected: str) -> bool:
    raw_words = " ".join(s.raw for s in steps if s.op != "insert").split()
    new_words = " ".join(
        s.corrected if s.op != "equal" else s.raw for s in steps if s.op != "delete"
    ).split()
    return raw_words == raw.split() and new_words == corrected.split()


def count_changes(diff: Sequence[WordChange]) -> int:
    """How many steps of ``diff`` change something."""
    return sum(1 for step in diff if step.op != "equal")


def diff_text(diff: Sequence[WordChange]) -> str:
    """Plain-text diff: ``[-removed-]`` and ``{+added+}`` inline."""
    parts: list[str] = []
    for step in diff:
        if step.op == "equal":
            parts.append(step.raw)
            continue
        if step.raw:
            parts.append(f"[-{step.raw}-]")
        if step.corrected:
            parts.append(f"{{+{step.corrected}+}}")
    return " ".join(p for p in parts if p)


_DEL_STYLE = "background:#fdd;color:#900;text-decoration:line-through"
_INS_STYLE = "background:#dfd;color:#060;text-decoration:none"


def diff_html(diff: Sequence[WordChange]) -> str:
    """HTML diff with ``<del>``/``<ins>``; every word is escaped."""
    parts: list[str] = []
    for step in diff:
        if step.op == "equal":
            parts.append(html.escape(step.raw))
            continue
        if step.raw:
            parts.append(f'<del style="{_DEL_STYLE}">{html.escape(step.raw)}</del>')
        if step.corrected:
            parts.append(f'<ins style="{_INS_STYLE}">{html.escape(step.corrected)}</ins>')
    return " ".join(p for p in parts if p)
