"""What ``bench_engine.py`` reports about the machine it ran on, and the median its tables use.

Shared by its parts (``_engine_generation.py``, ``_engine_speech.py``)::

    from _machine import cpu_model, load_average, med, size_mb, version
"""

from __future__ import annotations

import os
import platform
import statistics
from importlib import metadata
from pathlib import Path


def size_mb(path: Path) -> str:
    """The file's size in megabytes, for the report."""
    return f"{path.stat().st_size / 1e6:.1f} MB"


def version(name: str) -> str:
    """The installed version of the distribution ``name``, or "not installed"."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (other work on the machine skews timings)."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def med(values: list[float]) -> float:
    """The median, or NaN when nothing was measured."""
    return statistics.median(values) if values else float("nan")
