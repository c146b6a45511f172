"""The checks of one configured GGUF model: its memory estimate, a load, a short decode.

``memory_check`` sets the engine's own estimate (``routing.estimate_model_memory``,
for ``n_ctx`` x slots, as the router makes it) against what is free where the
layers go. ``load_check`` loads the model as the engine does (``LlamaModel``,
the configured ``gpu_layers`` and slots) and reads from llama.cpp's log how
many layers landed on the GPU. ``decode_check`` runs 1, then 8 concurrent
sequences through that model's batch loop and reports the tokens/s and the
time to the first token.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from ..engine.llm import LlamaModel, LLMSpec
from ..engine.routing import MIB, MemoryReading, estimate_model_memory
from ..engine.types import ChatMessage, GenerationOptions, GenerationResult
from .llama_log import capture_llama_log, offload_of
from .report import Check
from .system import REBUILD_CUDA

__all__ = ["CONCURRENCY", "decode_check", "decode_run", "load_check", "memory_check"]

CONCURRENCY = (1, 8)


def _fix_path(role: str) -> str:
    return (
        f"point NeiraApp.{role}_path (or [llm] {role}_path in brain_config.toml) at a GGUF "
        "file that exists, or download one: jupyter neira models download "
        "mistral-7b-instruct-v0.3"
    )


def memory_check(
    role: str, spec: LLMSpec, gpu_build: bool, gpus: list[MemoryReading],
    host: MemoryReading, low_mib: float,
) -> Check:  # fmt: skip
    """The model's file, and its estimated memory need against what is free where it goes."""
    check_id, title = f"llm.{role}.memory", f"{role} model {spec.name}: file and memory"
    if not spec.path.is_file():
        return Check(check_id, title, "fail", f"model file not found: {spec.path}",
                     fix=_fix_path(role), details={"path": str(spec.path)})  # fmt: skip
    estimate = estimate_model_memory(spec.path, spec.kv_cells)
    on_gpu = spec.n_gpu_layers != 0 and gpu_build and bool(gpus)
    free = sum(r.free_bytes for r in gpus) if on_gpu else host.free_bytes
    where = "the GPU" if on_gpu else "host RAM"
    details = {"path": str(spec.path), "n_ctx": spec.n_ctx, "slots": spec.slots,
               "estimate": estimate.to_dict(), "compared_with": where,
               "free_mib": round(free / MIB, 1)}  # fmt: skip
    need, have = estimate.total_bytes / MIB, free / MIB
    summary = f"needs about {need:.0f} MiB; {have:.0f} MiB free on {where}"
    if need > have:
        return Check(check_id, title, "fail", summary + ": it does not fit",
                     fix=f"free memory, or lower {role}_context or llm_slots, or use a smaller "
                     "model", details=details)  # fmt: skip
    if have - need < low_mib:
        return Check(check_id, title, "warn",
                     summary + f": after loading, less than memory_low_mib ({low_mib:.0f} MiB) "
                     "would be free and the router would switch to the fallback",
                     fix=f"free memory, lower {role}_context or llm_slots, or lower "
                     "NeiraApp.memory_low_mib", details=details)  # fmt: skip
    return Check(check_id, title, "ok", summary, None, details)


def load_check(
    role: str, spec: LLMSpec, gpu_build: bool, gpus_visible: bool
) -> tuple[Check, LlamaModel | None]:
    """Load the model with the configured offload; the check and the loaded model (or None)."""
    check_id, title = f"llm.{role}.load", f"{role} model {spec.name}: load"
    model = LlamaModel(spec)
    started = time.perf_counter()
    try:
        with capture_llama_log() as lines:
            model.load()
    except Exception as exc:
        model.close()
        return Check(
            check_id,
            title,
            "fail",
            f"{exc}",
            fix="check the file (jupyter neira models verify), its memory need and the log above",
            details={"log_tail": "".join(lines)[-2000:]},
        ), None
    seconds = time.perf_counter() - started
    offload = offload_of(lines)
    details: dict[str, Any] = {"seconds": round(seconds, 2), "device": model.device,
                               "gpu_layers": spec.n_gpu_layers, "slots": spec.slots,
                               "n_ctx": spec.n_ctx, **offload}  # fmt: skip
    on_gpu, layers = offload["layers_on_gpu"], offload["layers"]
    placed = f"{on_gpu}/{layers} layers on the GPU" if layers else "every layer on the CPU"
    summary = f"loaded in {seconds:.1f} s, {placed}"
    if spec.n_gpu_layers != 0 and not gpu_build:
        return Check(check_id, title, "warn",
                     f"{summary}: gpu_layers={spec.n_gpu_layers}, but the build has no GPU "
                     "backend", fix=REBUILD_CUDA, details=details), model  # fmt: skip
    if spec.n_gpu_layers == 0 and gpu_build and gpus_visible:
        return Check(
            check_id,
            title,
            "warn",
            f"{summary} though a GPU is here (gpu_layers=0)",
            fix="put the layers on the GPU: --NeiraApp.gpu_layers=-1 (or [llm] "
            "gpu_layers = -1), with cuda_enabled true",
            details=details,
        ), model
    if spec.n_gpu_layers != 0 and layers:
        wanted = layers if spec.n_gpu_layers < 0 else min(spec.n_gpu_layers, layers)
        if (on_gpu or 0) < wanted:
            return Check(check_id, title, "warn", f"{summary}, {wanted} asked for",
                         fix="see llama.cpp's log: the GPU may lack memory for every layer",
                         details=details), model  # fmt: skip
    if spec.n_gpu_layers != 0 and layers is None:
        return Check(check_id, title, "warn", f"{summary}: llama.cpp did not say where the "
                     "layers went", fix=None, details=details), model  # fmt: skip
    return Check(check_id, title, "ok", summary, None, details), model


def _messages(i: int) -> list[ChatMessage]:
    return [ChatMessage("user", f"Count from {i}.")]  # short: mostly decode, little prefill


def decode_run(model: LlamaModel, sequences: int, max_tokens: int) -> dict[str, Any]:
    """``sequences`` generations started together on ``model``'s batch loop (greedy, at most
    ``max_tokens`` each): tokens, wall time, aggregate tokens/s, first-token times."""
    options = GenerationOptions(max_tokens=max_tokens, temperature=0.0)
    results: list[GenerationResult | None] = [None] * sequences
    errors: list[BaseException] = []
    finished = threading.Semaphore(0)

    def done_for(i: int) -> Any:
        def done(result: GenerationResult | None, error: BaseException | None) -> None:
            results[i] = result
            if error is not None:
                errors.append(error)
            finished.release()

        return done

    started = time.perf_counter()
    for i in range(sequences):
        model.start(_messages(i), options, None, lambda chunk: None, done_for(i))
    for _ in range(sequences):
        finished.acquire()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    done = [r for r in results if r is not None]
    tokens = sum(r.usage.completion_tokens for r in done)
    first = [r.timings.first_token_ms for r in done if r.timings.first_token_ms is not None]
    return {
        "sequences": sequences,
        "tokens": tokens,
        "seconds": round(wall, 3),
        "tokens_per_second": round(tokens / wall, 1) if wall > 0 else None,
        "first_token_ms_p50": round(statistics.median(first), 1) if first else None,
        "first_token_ms_max": round(max(first), 1) if first else None,
    }


def decode_check(role: str, model: LlamaModel, max_tokens: int) -> Check:
    """A short decode at each of ``CONCURRENCY`` sequences (after a warm-up of each)."""
    check_id, title = f"llm.{role}.decode", f"{role} model {model.name}: decode"
    try:
        for n in CONCURRENCY:  # warm-up: the first batch of a size allocates (and, on a GPU,
            decode_run(model, n, 2)  # captures graphs); that is not the model's speed
        runs = [decode_run(model, n, max_tokens) for n in CONCURRENCY]
    except Exception as exc:
        return Check(check_id, title, "fail", f"decoding failed: {exc}",
                     fix="see the server log; the load check's details say where the layers "
                     "went", details={"max_tokens": max_tokens})  # fmt: skip
    details: dict[str, Any] = {"max_tokens": max_tokens, "slots": model.spec.slots,
                               "device": model.device, "runs": runs}  # fmt: skip
    one, many = runs[0], runs[-1]
    if one["tokens_per_second"] and many["tokens_per_second"]:
        details["batch_gain"] = round(many["tokens_per_second"] / one["tokens_per_second"], 2)
    parts = [f"{r['sequences']} seq {r['tokens_per_second']} tok/s, first token "
             f"{r['first_token_ms_p50']} ms" for r in runs]  # fmt: skip
    if not all(r["tokens"] for r in runs):
        return Check(check_id, title, "warn", "; ".join(parts) + ": a run produced no token",
                     fix="the model stopped at once: try another prompt or model",
                     details=details)  # fmt: skip
    return Check(check_id, title, "ok", "; ".join(parts), None, details)
