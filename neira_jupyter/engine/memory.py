"""MemoryWatch: free GPU (NVML) or host (psutil) memory, read on an interval, as pressure levels.

A ``MemorySource`` answers one question, "how much memory is free right now",
as a list of ``MemoryReading`` (one per device). Four sources share that
interface:

* ``NvmlSource``  -- every NVIDIA GPU through nvidia-ml-py (imported lazily,
  only when asked for or when ``auto`` finds a GPU build with offloading on);
* ``HostSource``  -- host RAM through psutil (``available``, not ``free``:
  page cache that the kernel gives back counts as free);
* ``FileSource``  -- a JSON file that something else keeps up to date (an
  operator's script, a cluster agent, a test): ``{"free_mib": 900,
  "total_mib": 8192}`` or ``{"devices": [{"device": "cuda:0", ...}]}``;
* ``ManualSource`` -- an in-process value, set with ``set()`` (benchmarks and
  unit tests).

``MemoryWatch`` reads its source every ``interval_s`` (an asyncio task; the
read itself runs in a thread so a slow NVML call never blocks the loop) and
turns the smallest free figure into a ``PressureLevel`` with hysteresis:
the level rises as soon as free memory falls below ``low_mib`` (or
``critical_mib``), and falls back to ``ok`` only after at least
``recover_mib`` stayed free for ``recover_s`` seconds in a row. ``poll()``
takes one reading synchronously, with an injectable clock, so the state
machine is testable without sleeping.

``estimate_model_memory`` says what a GGUF model will need before it is
loaded, the way Ollama does: the file (weights) plus the KV cache for its
context, computed from the model's own metadata (layers, embedding width,
head counts), plus a margin for llama.cpp's compute buffers.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import importlib
import json
import logging
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

log = logging.getLogger("neira_jupyter")

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


class PressureLevel(enum.StrEnum):
    """How tight memory is. ``high``: serve from the fallback; ``critical``: from no local model."""

    OK = "ok"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class PressureThresholds:
    """When the level rises and when it falls back (hysteresis)."""

    low_mib: float = 1024.0
    recover_mib: float = 2048.0
    recover_s: float = 30.0
    critical_mib: float = 0.0  # 0: no critical level

    def __post_init__(self) -> None:
        if self.recover_mib < self.low_mib:
            raise ValueError("memory_recover_mib must be at least memory_low_mib")
        if self.critical_mib > self.low_mib:
            raise ValueError("memory_critical_mib must not exceed memory_low_mib")
        if self.recover_s < 0:
            raise ValueError("memory_recover_seconds must not be negative")


Listener = Callable[[PressureLevel, PressureLevel, str], None]


@dataclass
class _State:
    level: PressureLevel = PressureLevel.OK
    readings: list[MemoryReading] = field(default_factory=list)
    updated: float | None = None  # wall-clock time of the last good reading
    error: str | None = None
    recovering_since: float | None = None
    reason: str = "no reading yet"


class MemoryWatch:
    """Readings of one ``MemorySource`` turned into a pressure level with hysteresis."""

    def __init__(
        self,
        source: MemorySource,
        thresholds: PressureThresholds | None = None,
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.thresholds = thresholds or PressureThresholds()
        self.interval_s = interval_s
        self._clock = clock
        self._state = _State()
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self.reading_count = 0  # readings taken so far: tells stale figures from fresh ones

    # -- readings ------------------------------------------------------------------
    @property
    def level(self) -> PressureLevel:
        return self._state.level

    @property
    def reason(self) -> str:
        """Why the level is what it is, in words."""
        return self._state.reason

    def free_bytes(self) -> int | None:
        """The smallest free figure of the last reading (None before the first one)."""
        readings = self._state.readings
        return min(r.free_bytes for r in readings) if readings else None

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(old, new, reason)`` whenever the level changes."""
        self._listeners.append(listener)

    def poll(self) -> PressureLevel:
        """Take one reading now and update the level."""
        try:
            readings = self.source.read()
        except Exception as exc:
            self._record_error(exc)
            return self._state.level
        return self.update(readings)

    def _record_error(self, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        if message != self._state.error:
            log.warning("neira: memory reading from %s failed: %s", self.source.name, message)
        self._state.error = message  # the level stays where it was

    def update(self, readings: list[MemoryReading]) -> PressureLevel:
        """Feed readings (from ``poll`` or the background task) through the hysteresis."""
        state = self._state
        self.reading_count += 1
        state.readings = list(readings)
        state.updated = time.time()
        state.error = None
        if not readings:
            return state.level
        t = self.thresholds
        free_mib = min(r.free_bytes for r in readings) / MIB
        now = self._clock()
        old = state.level
        if t.critical_mib > 0 and free_mib < t.critical_mib:
            new = PressureLevel.CRITICAL
            state.recovering_since = None
            state.reason = f"{free_mib:.0f} MiB free < critical {t.critical_mib:.0f} MiB"
        elif free_mib < t.low_mib:
            new = PressureLevel.HIGH
            state.recovering_since = None
            state.reason = f"{free_mib:.0f} MiB free < {t.low_mib:.0f} MiB"
        elif old is PressureLevel.OK:
            new = PressureLevel.OK
            state.reason = f"{free_mib:.0f} MiB free"
        elif free_mib >= t.recover_mib:
            if state.recovering_since is None:
                state.recovering_since = now
            held = now - state.recovering_since
            if held >= t.recover_s:
                new = PressureLevel.OK
                state.recovering_since = None
                state.reason = (
                    f"{free_mib:.0f} MiB free; >= {t.recover_mib:.0f} MiB for {held:.1f} s"
                )
            else:
                new = PressureLevel.HIGH
                state.reason = (
                    f"{free_mib:.0f} MiB free, recovering: >= {t.recover_mib:.0f} MiB "
                    f"for {held:.1f} of {t.recover_s:.0f} s"
                )
        else:
            new = PressureLevel.HIGH  # above low, below recover: hold (and leave critical)
            state.recovering_since = None
            state.reason = (
                f"{free_mib:.0f} MiB free; waiting for >= {t.recover_mib:.0f} MiB "
                f"for {t.recover_s:.0f} s"
            )
        state.level = new
        if new is not old:
            log.warning(
                "neira: memory pressure %s -> %s (%s, source %s)",
                old.value,
                new.value,
                state.reason,
                self.source.name,
            )
            for listener in list(self._listeners):
                try:
                    listener(old, new, state.reason)
                except Exception:
                    log.exception("neira: memory pressure listener failed")
        return new

    # -- background task -------------------------------------------------------------
    def start(self) -> None:
        """Read on an interval in an asyncio task of the running loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                readings = await asyncio.to_thread(self.source.read)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._record_error(exc)
            else:
                self.update(readings)
            await asyncio.sleep(self.interval_s)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        close = getattr(self.source, "close", None)
        if callable(close):
            await asyncio.to_thread(close)

    def status(self) -> dict[str, Any]:
        """The ``memory`` part of the status document."""
        state = self._state
        free = self.free_bytes()
        return {
            "source": self.source.name,
            "level": state.level.value,
            "reason": state.reason,
            "free_mib": round(free / MIB, 1) if free is not None else None,
            "readings": [r.to_dict() for r in state.readings],
            "updated": state.updated,
            "error": state.error,
            "interval_s": self.interval_s,
            "thresholds": asdict(self.thresholds),
        }


# -- what a model needs ---------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryEstimate:
    """What loading a GGUF model will take: weights + KV cache + compute buffers."""

    file_bytes: int
    kv_bytes: int
    overhead_bytes: int
    note: str = ""

    @property
    def total_bytes(self) -> int:
        return self.file_bytes + self.kv_bytes + self.overhead_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_mib": round(self.total_bytes / MIB, 1),
            "file_mib": round(self.file_bytes / MIB, 1),
            "kv_cache_mib": round(self.kv_bytes / MIB, 1),
            "overhead_mib": round(self.overhead_bytes / MIB, 1),
            "note": self.note,
        }


_GGUF_SCALARS: dict[int, str] = {
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i",
    6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d",
}  # fmt: skip
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def read_gguf_metadata(path: Path) -> dict[str, Any]:
    """The scalar key/values of a GGUF file's header (arrays are skipped, not read).

    Raises ``ValueError`` for a file that is not GGUF (v2 or v3).
    """
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError(f"{path.name} is not a GGUF file (bad magic)")
        (version,) = struct.unpack("<I", f.read(4))
        if version not in (2, 3):
            raise ValueError(f"{path.name}: unsupported GGUF version {version}")
        _tensors, count = struct.unpack("<QQ", f.read(16))
        if count > 100_000:
            raise ValueError(f"{path.name}: implausible metadata count {count}")
        metadata: dict[str, Any] = {}
        for _ in range(count):
            key = _gguf_string(f)
            (kind,) = struct.unpack("<I", _exact(f, 4))
            if kind == _GGUF_ARRAY:
                _skip_gguf_array(f)
            else:
                metadata[key] = _gguf_value(f, kind)
        return metadata


def _exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ValueError("truncated GGUF header")
    return data


def _gguf_string(f: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", _exact(f, 8))
    if length > 1 << 24:
        raise ValueError("implausible GGUF string length")
    return _exact(f, length).decode("utf-8", "replace")


def _gguf_value(f: BinaryIO, kind: int) -> Any:
    if kind == _GGUF_STRING:
        return _gguf_string(f)
    fmt = _GGUF_SCALARS.get(kind)
    if fmt is None:
        raise ValueError(f"unknown GGUF value type {kind}")
    return struct.unpack(fmt, _exact(f, struct.calcsize(fmt)))[0]


def _skip_gguf_array(f: BinaryIO) -> None:
    kind, length = struct.unpack("<IQ", _exact(f, 12))
    if kind == _GGUF_STRING:
        for _ in range(length):
            (n,) = struct.unpack("<Q", _exact(f, 8))
            f.seek(n, 1)
    elif kind == _GGUF_ARRAY:
        for _ in range(length):
            _skip_gguf_array(f)
    elif kind in _GGUF_SCALARS:
        f.seek(length * struct.calcsize(_GGUF_SCALARS[kind]), 1)
    else:
        raise ValueError(f"unknown GGUF array type {kind}")


def estimate_model_memory(path: Path, n_ctx: int, kv_bytes_per_value: int = 2) -> MemoryEstimate:
    """File size + f16 KV cache for ``n_ctx`` + compute-buffer margin.

    KV cache = 2 (K and V) x n_ctx x n_layer x n_head_kv x head_dim x bytes,
    with head_dim from ``attention.key_length`` (else n_embd / n_head).
    Sliding-window layers are counted as full ones: an upper bound. A file
    whose header cannot be read is estimated by its size alone (loading it
    will say what is wrong with it). Raises ``OSError`` for a missing file.
    """
    size = path.stat().st_size
    overhead = max(32 * MIB, size // 10)
    try:
        meta = read_gguf_metadata(path)
        arch = str(meta["general.architecture"])

        def number(key: str) -> int | None:
            value = meta.get(f"{arch}.{key}")
            return int(value) if isinstance(value, (int, float)) else None

        n_layer = number("block_count")
        n_embd = number("embedding_length")
        n_head = number("attention.head_count")
        if n_layer is None or n_embd is None or not n_head:
            raise KeyError("block_count/embedding_length/head_count")
        n_head_kv = number("attention.head_count_kv") or n_head
        key_len = number("attention.key_length") or n_embd // n_head
        value_len = number("attention.value_length") or key_len
    except (ValueError, KeyError, OSError, struct.error) as exc:
        return MemoryEstimate(size, 0, overhead, note=f"metadata unreadable: {exc}")
    kv = n_ctx * n_layer * n_head_kv * (key_len + value_len) * kv_bytes_per_value
    note = f"{arch}: {n_layer} layers, {n_head_kv} KV heads x {key_len}+{value_len}, n_ctx {n_ctx}"
    return MemoryEstimate(size, kv, overhead, note=note)
