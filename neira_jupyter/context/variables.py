"""The kernel's variables as the model is shown them: what ``kernel_probe.describe`` found.

The probe runs inside the kernel and answers JSON; ``variables_from_probe``
turns that answer into ``KernelVariables``, one line per variable. The chat
gets the JSON back from a silent execution (``chat.variables``); ``%neira
fix`` runs the probe in its own kernel and reads the same JSON, so both show
the model the same summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class KernelVariables:
    """What the probe found (``names``/``lines``) or why there is nothing (``note``)."""

    lines: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    note: str = ""
    cut: bool = False


def variables_from_probe(text: str) -> KernelVariables:
    """The probe's JSON answer (``{"variables": [...], "cut": bool}``) as ``KernelVariables``."""
    try:
        found = json.loads(text)
        items = list(found.get("variables", []))
    except (ValueError, TypeError, AttributeError):
        return KernelVariables(note="the kernel's answer was not understood")
    out = KernelVariables(cut=bool(found.get("cut")))
    for item in items:
        name, kind, summary = (str(item.get(k, "")) for k in ("name", "type", "summary"))
        out.names.append(name)
        out.lines.append(f"{name}: {kind}, {summary}" if summary else f"{name}: {kind}")
    return out


__all__ = ["KernelVariables", "variables_from_probe"]
