"""Run every check for one resolved configuration, in the order a person reads them.

The machine first (the GPUs, the llama.cpp build, the memory watch), then
each configured local LLM (memory, load, decode; a model is freed before the
next one loads), then Whisper. ``quick`` skips the loads: only what can be
seen without a model in memory is checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine.config import EngineConfig
from ..engine.llm import LLMSpec, llama_supports_gpu
from ..engine.routing import HostSource, MemorySource, NvmlSource
from .llm import decode_check, load_check, memory_check
from .report import Check, Report
from .speech import speech_check
from .system import driver_present, gpu_check, llama_build_check, memory_watch_check

__all__ = ["DoctorOptions", "run_doctor"]


@dataclass(frozen=True)
class DoctorOptions:
    """What the doctor does beyond reading the configuration."""

    quick: bool = False  # no model loads
    max_tokens: int = 16  # per sequence in the decode check
    roles: tuple[str, ...] = ("primary", "fallback")


def _config_summary(config: EngineConfig) -> dict[str, Any]:
    def llm(spec: LLMSpec | None) -> str:
        if spec is None:
            return "none"
        return (f"{spec.name} ({spec.path}; n_ctx {spec.n_ctx}, {spec.slots} slots, "
                f"gpu_layers {spec.n_gpu_layers})")  # fmt: skip

    speech = config.speech
    return {
        "demo models": config.demo,
        "primary": llm(config.primary),
        "fallback": llm(config.fallback),
        "speech": f"{speech.name} ({speech.path}; device {speech.device})" if speech else "none",
        "memory_source": config.memory_source,
        "notes": "; ".join(config.demo_notes) or "none",
    }


def run_doctor(
    config: EngineConfig, options: DoctorOptions, gpu_source: MemorySource | None = None
) -> Report:
    """Check this machine against ``config``; ``gpu_source`` reads the GPUs (NVML by default)."""
    report = Report(config=_config_summary(config))
    source = gpu_source if gpu_source is not None else NvmlSource()
    try:
        gpu, gpus = gpu_check(source)
    finally:
        if isinstance(source, NvmlSource):
            source.close()
    gpu_build = llama_supports_gpu()
    gpu_here = bool(gpus) or driver_present()  # a driver without NVML readings is a GPU too
    report.add(llama_build_check(gpu_here, config.offloads_layers))
    report.add(gpu)
    report.add(memory_watch_check(config, gpu_build, gpus))
    host = HostSource().read()[0]
    specs = {"primary": config.primary, "fallback": config.fallback}
    for role in options.roles:
        spec = specs.get(role)
        if spec is None or not config.llm_enabled:
            why = "the LLM is disabled (llm_enabled)" if spec else f"no {role} model configured"
            report.add(Check(f"llm.{role}", f"{role} model", "skip", why))
            continue
        low = config.memory_thresholds.low_mib
        memory = report.add(memory_check(role, spec, gpu_build, gpus, host, low))
        if options.quick or not spec.path.is_file():
            why = "the model file is missing" if not spec.path.is_file() else "--quick: not loaded"
            report.add(Check(f"llm.{role}.load", f"{role} model {spec.name}: load", "skip", why))
            continue
        if memory.verdict == "fail":
            report.add(Check(f"llm.{role}.load", f"{role} model {spec.name}: load", "skip",
                             "not loaded: it does not fit"))  # fmt: skip
            continue
        load, model = load_check(role, spec, gpu_build, gpu_here)
        report.add(load)
        if model is None:
            continue
        try:
            report.add(decode_check(role, model, options.max_tokens))
        finally:
            model.close()
    report.add(speech_check(config.speech, gpu_here, options.quick))
    return report
