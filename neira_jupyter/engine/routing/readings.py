"""Memory readings: how much memory is free right now, per device, from one of four sources.

A ``MemorySource`` answers that question as a list of ``MemoryReading`` (one
per device):

* ``NvmlSource``  -- every NVIDIA GPU through nvidia-ml-py (imported lazily,
  only when asked for or when ``auto`` finds a GPU build with offloading on);
* ``HostSource``  -- host RAM through psutil (``available``, not ``free``:
  page cache that the kernel gives back counts as free);
* ``FileSource``  -- a JSON file that something else keeps up to date (an
  operator's script, a cluster agent, a test): ``{"free_mib": 900,
  "total_mib": 8192}`` or ``{"devices": [{"device": "cuda:0", ...}]}``;
* ``ManualSource`` -- an in-process value, set with ``set()`` (benchmarks and
  unit tests).

``make_source`` builds the source a config string names; any object with a
``name`` and a ``read()`` can be injected as ``module:attribute``.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

log = logging.getLogger("neira_jupyter")

__all__ = [
    "MIB",
    "FileSource",
    "HostSource",
    "ManualSource",
    "MemoryReading",
    "MemorySource",
    "NvmlSource",
    "make_source",
]

MIB = 1024 * 1024


@dataclass(frozen=True)
class MemoryReading:
    """Free and total memory of one device at one moment."""

    device: str  # "host", "cuda:0", ...
    kind: str  # "host" or "gpu"
    free_bytes: int
    total_bytes: int
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "kind": self.kind,
            "name": self.name,
            "free_mib": round(self.free_bytes / MIB, 1),
            "total_mib": round(self.total_bytes / MIB, 1),
        }


@runtime_checkable
class MemorySource(Protocol):
    """Something that can say how much memory is free, per device."""

    name: str

    def read(self) -> list[MemoryReading]:
        """Current readings; raises ``OSError``/``RuntimeError`` when it cannot read."""
        ...


class HostSource:
    """Host RAM through psutil (``available`` counts reclaimable cache as free)."""

    name = "host"

    def read(self) -> list[MemoryReading]:
        import psutil

        vm = psutil.virtual_memory()
        return [MemoryReading("host", "host", int(vm.available), int(vm.total), "RAM")]


class NvmlSource:
    """Every NVIDIA GPU through nvidia-ml-py; initialised on first use."""

    name = "nvml"

    def __init__(self) -> None:
        self._nvml: Any = None
        self._lock = threading.Lock()

    def _init(self) -> Any:
        with self._lock:
            if self._nvml is None:
                try:
                    import pynvml
                except ImportError as exc:
                    raise RuntimeError(
                        "GPU memory readings need nvidia-ml-py: pip install 'neira-jupyter[gpu]'"
                    ) from exc
                pynvml.nvmlInit()
                self._nvml = pynvml
            return self._nvml

    def read(self) -> list[MemoryReading]:
        nvml = self._init()
        readings = []
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            info = nvml.nvmlDeviceGetMemoryInfo(handle)
            name = nvml.nvmlDeviceGetName(handle)
            if isinstance(name, bytes):
                name = name.decode("utf-8", "replace")
            readings.append(
                MemoryReading(f"cuda:{index}", "gpu", int(info.free), int(info.total), str(name))
            )
        if not readings:
            raise RuntimeError("NVML reports no GPU")
        return readings

    def close(self) -> None:
        with self._lock:
            if self._nvml is not None:
                self._nvml.nvmlShutdown()
                self._nvml = None


class FileSource:
    """Readings from a JSON file, re-read every time (a test or an ops agent rewrites it).

    Accepted shapes: ``{"free_mib": 900, "total_mib": 8192}`` (one device) or
    ``{"devices": [{"device": "cuda:0", "kind": "gpu", "free_mib": ..., "total_mib": ...}]}``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"file:{path}"

    def read(self) -> list[MemoryReading]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RuntimeError(f"{self.path}: not valid JSON: {exc}") from exc
        entries = data.get("devices", [data]) if isinstance(data, dict) else None
        if not isinstance(entries, list) or not entries:
            raise RuntimeError(f"{self.path}: expected an object with free_mib and total_mib")
        readings = []
        for i, entry in enumerate(entries):
            try:
                free = float(entry["free_mib"])
                total = float(entry.get("total_mib", free))
            except (KeyError, TypeError, ValueError) as exc:
                raise RuntimeError(f"{self.path}: device {i} needs a number free_mib") from exc
            readings.append(
                MemoryReading(
                    str(entry.get("device", f"device:{i}")),
                    str(entry.get("kind", "gpu")),
                    int(free * MIB),
                    int(total * MIB),
                    str(entry.get("name", "")),
                )
            )
        return readings


class ManualSource:
    """An in-process reading that the caller sets (benchmarks, unit tests)."""

    name = "manual"

    def __init__(self, free_mib: float = 1e6, total_mib: float = 1e6) -> None:
        self._lock = threading.Lock()
        self.set(free_mib, total_mib)

    def set(self, free_mib: float, total_mib: float | None = None) -> None:
        with self._lock:
            self._free = int(free_mib * MIB)
            if total_mib is not None:
                self._total = int(total_mib * MIB)

    def read(self) -> list[MemoryReading]:
        with self._lock:
            return [MemoryReading("manual", "gpu", self._free, max(self._total, self._free))]


def make_source(spec: str, use_gpu: bool = False) -> MemorySource:
    """The source named by a config string.

    ``auto`` (NVML when ``use_gpu`` and a GPU answers, else host), ``host``,
    ``nvml``, ``file:/path/to/readings.json``, or ``module:attribute`` naming a
    ``MemorySource`` object (or a callable returning one).
    """
    spec = spec.strip()
    if spec in ("", "auto"):
        if use_gpu:
            nvml = NvmlSource()
            try:
                nvml.read()
            except Exception as exc:
                log.warning("neira: no GPU memory readings (%s); watching host memory", exc)
            else:
                return nvml
        return HostSource()
    if spec in ("host", "psutil"):
        return HostSource()
    if spec in ("nvml", "gpu"):
        return NvmlSource()
    if spec.startswith("file:"):
        return FileSource(Path(spec[len("file:") :]).expanduser())
    if ":" in spec:
        module_name, _, attr = spec.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        if isinstance(obj, type) or (not isinstance(obj, MemorySource) and callable(obj)):
            obj = obj()
        if not isinstance(obj, MemorySource):
            raise ValueError(f"memory_source {spec!r} is not a MemorySource")
        return obj
    raise ValueError(
        f"unknown memory_source {spec!r}; use auto, host, nvml, file:PATH or module:attribute"
    )
