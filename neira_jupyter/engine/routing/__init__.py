"""Which model serves the next request: memory readings, pressure levels, estimates, the router.

Layers, lowest first: ``readings`` (how much memory is free: NVML, psutil, a
file, a set value), ``pressure`` (readings on an interval -> ``ok``/``high``/
``critical`` with hysteresis), ``estimate`` (what a GGUF model will need,
from the header ``gguf_header`` reads),
``backend`` (the router's value types), ``eligibility`` (which backends can
serve now, read-only) and ``router`` (the route, its switches, the loads and
unloads it asks for, the requests it counts).
"""

from __future__ import annotations

from .backend import ROLES, Backend, Claim, Route, RouterActions, RouterConfig, Switch
from .estimate import MemoryEstimate, estimate_model_memory
from .pressure import MemoryWatch, PressureLevel, PressureThresholds
from .readings import (
    MIB,
    FileSource,
    HostSource,
    ManualSource,
    MemoryReading,
    MemorySource,
    NvmlSource,
    make_source,
)
from .router import ModelRouter

__all__ = [
    "MIB",
    "ROLES",
    "Backend",
    "Claim",
    "FileSource",
    "HostSource",
    "ManualSource",
    "MemoryEstimate",
    "MemoryReading",
    "MemorySource",
    "MemoryWatch",
    "ModelRouter",
    "NvmlSource",
    "PressureLevel",
    "PressureThresholds",
    "Route",
    "RouterActions",
    "RouterConfig",
    "Switch",
    "estimate_model_memory",
    "make_source",
]
