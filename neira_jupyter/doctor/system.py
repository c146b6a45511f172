"""The machine's checks: the llama.cpp build, the GPUs NVML sees, and what the memory watch reads.

Each function returns a ``Check``. The GPUs are read through a
``MemorySource`` (``NvmlSource`` unless another is given, e.g. a file or a
fake in a test: ``routing.make_source`` builds it), the memory watch through
the source the engine itself would build for this configuration.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ..engine.config import EngineConfig
from ..engine.routing import MIB, MemoryReading, MemorySource, NvmlSource, make_source
from .report import Check

__all__ = [
    "INSTALL_NVML",
    "REBUILD_CUDA",
    "driver_present",
    "gpu_check",
    "llama_build_check",
    "memory_watch_check",
]

REBUILD_CUDA = (
    "rebuild llama-cpp-python with CUDA: .venv/bin/pip uninstall -y llama-cpp-python && "
    "NEIRA_CMAKE_ARGS=-DGGML_CUDA=on bash scripts/setup.sh (without the checkout: "
    "CMAKE_ARGS=-DGGML_CUDA=on pip install --no-cache-dir --force-reinstall llama-cpp-python)"
)
INSTALL_NVML = "pip install 'neira-jupyter[gpu]' (nvidia-ml-py) so NVML can read the GPU memory"


def driver_present() -> bool:
    """Whether an NVIDIA driver looks installed (``nvidia-smi`` or the kernel module)."""
    return shutil.which("nvidia-smi") is not None or Path("/proc/driver/nvidia/version").exists()


def _mib(value: int) -> float:
    return round(value / MIB, 1)


def llama_build_check(gpus_visible: bool, offloads_layers: bool) -> Check:
    """How llama-cpp-python was built (CPU features, a GPU backend or not), judged against
    the GPUs this machine has and whether the configuration offloads layers."""
    title = "llama.cpp build"
    try:
        import llama_cpp
    except ImportError as exc:
        return Check(
            "llama_build", title, "fail", f"llama-cpp-python cannot be imported: {exc}",
            fix="bash scripts/setup.sh (or pip install 'neira-jupyter[llm]' with the README's "
            "build flags)",
        )  # fmt: skip
    gpu = bool(llama_cpp.llama_supports_gpu_offload())
    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()
    details: dict[str, Any] = {
        "llama_cpp_python": getattr(llama_cpp, "__version__", "?"),
        "gpu_offload": gpu,
        "cuda": "CUDA" in info,
        "system_info": info,
    }
    if gpu and gpus_visible:
        return Check("llama_build", title, "ok", "built with GPU offload (CUDA)", None, details)
    if gpu:
        return Check(
            "llama_build", title, "warn", "built with GPU offload, but there is no NVIDIA GPU",
            fix="check the driver with nvidia-smi; without a GPU the layers stay on the CPU",
            details=details,
        )  # fmt: skip
    if gpus_visible:
        return Check(
            "llama_build", title, "fail",
            "llama-cpp-python was built without CUDA, but this machine has an NVIDIA GPU",
            fix=REBUILD_CUDA, details=details,
        )  # fmt: skip
    if offloads_layers:
        return Check(
            "llama_build", title, "warn",
            "gpu_layers is set, but llama-cpp-python was built without a GPU backend: "
            "every layer stays on the CPU",
            fix=REBUILD_CUDA, details=details,
        )  # fmt: skip
    return Check("llama_build", title, "ok", "CPU build (no GPU here)", None, details)


def _driver_version(source: MemorySource) -> str | None:
    if not isinstance(source, NvmlSource):
        return None
    try:
        import pynvml

        version = pynvml.nvmlSystemGetDriverVersion()
    except Exception:
        return None
    return version.decode() if isinstance(version, bytes) else str(version)


def gpu_check(source: MemorySource) -> tuple[Check, list[MemoryReading]]:
    """The NVIDIA GPUs ``source`` (NVML) reads, with their free and total memory."""
    title = "GPUs (NVML)"
    try:
        readings = [r for r in source.read() if r.kind == "gpu"]
        problem = "" if readings else "no GPU in the reading"
    except Exception as exc:  # pynvml raises its own NVMLError types
        readings, problem = [], f"{type(exc).__name__}: {exc}"
    details: dict[str, Any] = {"source": source.name}
    if not readings:
        details["error"] = problem
        if not driver_present():
            return Check("gpu", title, "skip", "no NVIDIA GPU on this machine", None, details), []
        missing = "nvidia-ml-py" in problem
        return Check(
            "gpu", title, "fail",
            "an NVIDIA driver is installed but NVML " + ("is not" if missing else "cannot be")
            + f" read: {problem}",
            fix=INSTALL_NVML if missing else "check the driver and the GPU with nvidia-smi",
            details=details,
        ), []  # fmt: skip
    details["driver"] = _driver_version(source)
    details["devices"] = [r.to_dict() for r in readings]
    names = "; ".join(
        f"{r.device} {r.name}: {_mib(r.free_bytes):.0f} of {_mib(r.total_bytes):.0f} MiB free"
        for r in readings
    )
    return Check("gpu", title, "ok", names, None, details), readings


def memory_watch_check(config: EngineConfig, gpu_build: bool, gpus: list[MemoryReading]) -> Check:
    """The memory source the engine builds for this configuration, one reading of it, and the
    pressure level that reading means."""
    title = "memory watch"
    source = make_source(config.memory_source, use_gpu=config.offloads_layers)
    details: dict[str, Any] = {"memory_source": config.memory_source, "reads": source.name}
    t = config.memory_thresholds
    details["thresholds_mib"] = {"low": t.low_mib, "recover": t.recover_mib,
                                 "critical": t.critical_mib}  # fmt: skip
    try:
        readings = source.read()
    except Exception as exc:
        return Check(
            "memory_watch", title, "fail", f"{source.name} cannot be read: {exc}",
            fix="set NeiraApp.memory_source to auto, host, nvml or a readable file:PATH",
            details=details,
        )  # fmt: skip
    finally:
        if isinstance(source, NvmlSource):
            source.close()
    details["readings"] = [r.to_dict() for r in readings]
    free_mib = min(r.free_bytes for r in readings) / MIB
    where = "GPU memory through NVML" if source.name == "nvml" else f"{source.name} memory"
    summary = f"reads {where}: {free_mib:.0f} MiB free"
    if config.offloads_layers and gpu_build and gpus and source.name == "host":
        return Check(
            "memory_watch", title, "warn",
            f"layers go to the GPU but the watch reads host RAM ({free_mib:.0f} MiB free)",
            fix=INSTALL_NVML + ", or set NeiraApp.memory_source=nvml", details=details,
        )  # fmt: skip
    if t.critical_mib and free_mib < t.critical_mib:
        return Check(
            "memory_watch", title, "fail",
            f"{summary}: below memory_critical_mib, so no local model would serve",
            fix="free memory, or lower NeiraApp.memory_critical_mib", details=details,
        )  # fmt: skip
    if free_mib < t.low_mib:
        return Check(
            "memory_watch", title, "warn",
            f"{summary}: below memory_low_mib, so requests would go to the fallback model",
            fix="free memory, or lower NeiraApp.memory_low_mib", details=details,
        )  # fmt: skip
    if source.name == "host" and not config.offloads_layers:
        summary += f" (the models run on the CPU; {os.cpu_count()} cores)"
    return Check("memory_watch", title, "ok", summary, None, details)
