"""The doctor's report: one ``Check`` per thing looked at, its verdict, and how to fix a failure.

A ``Check`` has a verdict (``ok``, ``warn``, ``fail`` or ``skip``), a one-line
summary, the fix when it is not ``ok`` and the measured details. ``Report``
holds the checks in order with a few facts about the machine; ``render_text``
prints it for a person (and a bug report), ``Report.to_dict`` is the
``--json`` document.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["VERDICTS", "Check", "Report", "Verdict", "render_text"]

Verdict = Literal["ok", "warn", "fail", "skip"]
VERDICTS: tuple[Verdict, ...] = ("ok", "skip", "warn", "fail")  # mildest first
_MARK = {"ok": "[ ok ]", "warn": "[warn]", "fail": "[FAIL]", "skip": "[skip]"}


@dataclass
class Check:
    """What one check found: ``id`` (stable, for scripts), a title, a verdict, a one-line
    summary, the fix (for ``warn`` and ``fail``) and the numbers behind it."""

    id: str
    title: str
    verdict: Verdict
    summary: str
    fix: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "verdict": self.verdict,
            "summary": self.summary,
            "fix": self.fix,
            "details": self.details,
        }


def _machine() -> dict[str, Any]:
    from .._version import __version__

    return {
        "neira_jupyter": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


@dataclass
class Report:
    """Every check in the order it ran, with the machine and the configuration it saw."""

    checks: list[Check] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=_machine)
    config: dict[str, Any] = field(default_factory=dict)

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    @property
    def verdict(self) -> Verdict:
        """The worst verdict of any check (``skip`` counts as ``ok``)."""
        worst = max((VERDICTS.index(c.verdict) for c in self.checks), default=0)
        return VERDICTS[worst] if VERDICTS[worst] != "skip" else "ok"

    def find(self, check_id: str) -> Check | None:
        return next((c for c in self.checks if c.id == check_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "machine": self.machine,
            "config": self.config,
            "checks": [c.to_dict() for c in self.checks],
        }


def _detail_lines(details: dict[str, Any], indent: str) -> list[str]:
    lines = []
    for key, value in details.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            lines.extend(_detail_lines(value, indent + "  "))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{indent}{key}:")
            for item in value:
                lines.append(f"{indent}  - " + ", ".join(f"{k}={v}" for k, v in item.items()))
        else:
            lines.append(f"{indent}{key}: {value}")
    return lines


def render_text(report: Report, verbose: bool = True) -> str:
    """The report for a person: the machine, then each check's verdict, summary and fix
    (and, when ``verbose``, its details), then the overall verdict."""
    m = report.machine
    lines = [
        f"neira-jupyter {m['neira_jupyter']} doctor -- {m['time']}",
        f"python {m['python']} on {m['platform']}, {m['cpu_count']} CPUs",
    ]
    for key, value in report.config.items():
        lines.append(f"{key}: {value}")
    lines.append("")
    for check in report.checks:
        lines.append(f"{_MARK[check.verdict]} {check.title}: {check.summary}")
        if check.fix:
            lines.append(f"       fix: {check.fix}")
        if verbose:
            lines.extend(_detail_lines(check.details, "       "))
    counts = {v: sum(c.verdict == v for c in report.checks) for v in VERDICTS}
    tally = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    lines += ["", f"overall: {report.verdict} ({tally})"]
    return "\n".join(lines) + "\n"
