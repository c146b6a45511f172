"""The GPU run's measurements through neira's HTTP API, written to ``RESULTS.md``.

    python benchmarks/gpu/bench_gpu.py --model M7B.gguf --fallback SMALL.gguf --out DIR
        [--doctor DIR/doctor.json] [--phases build=241,gguf=35] [--clients 1 4 8 16]
        [--max-tokens 128]

Run by ``run.sh`` after the CUDA build. A real Jupyter server with the
extension (``benchmarks/_server.py``) serves the primary (a Mistral-7B-shaped
GGUF) and a smaller fallback, every layer on the GPU (``gpu_layers=-1``),
``llm_slots=16``, the memory watch on NVML, and ``NEIRA_BENCH_IGNORE_EOS=1``
so that every request generates ``--max-tokens`` tokens. Measured:

* throughput: for 1, 4, 8 and 16 concurrent clients, each streaming one
  ``POST api/generate`` (``bench_batch.run_clients``): aggregate tokens/s and
  time to first token p50/p95;
* the pressure switch: GPU memory is really taken (PyTorch, else CuPy) until
  less than ``memory_low_mib`` is free; the time until the route is the
  fallback, until a new request's first token (served by the fallback) and
  until the primary is unloaded; then the memory is given back and the same
  for the way back (after the ``memory_recover_seconds`` hold, which is
  printed apart).

The machine (``nvidia-smi``, ``nvcc``), the doctor's verdicts and the phases'
times go in the same ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout

from _machine import cpu_model
from _server import TOKEN, free_port, post_generate, start_server, stop_server
from bench_batch import Run, run_clients

LOW_MIB, RECOVER_MIB, HOLD_S = 8192, 32768, 2.0
SHORT = {"prompt": "Name a colour.", "max_tokens": 4, "temperature": 0}


def shell(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"({cmd[0]}: {exc})"


def machine() -> dict[str, str]:
    import llama_cpp

    gpu = "name,driver_version,memory.total,compute_cap"
    return {
        "GPU": shell("nvidia-smi", f"--query-gpu={gpu}", "--format=csv,noheader"),
        "CUDA compiler": shell("nvcc", "--version").splitlines()[-1:][0]
        if shell("nvcc", "--version")
        else "?",
        "CPU": f"{cpu_model()} ({os.cpu_count()} cores)",
        "Python": platform.python_version(),
        "llama-cpp-python": llama_cpp.__version__,
        "llama.cpp system info": llama_cpp.llama_print_system_info().decode().strip(),
    }


def status(port: int) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/neira/api/status", headers={"Authorization": f"token {TOKEN}"})
        return dict(json.loads(conn.getresponse().read()))
    finally:
        conn.close()


def wait(port: int, what: str, ok: Callable[[dict[str, Any]], bool], limit: float) -> float:
    """Poll status until ``ok``; the time it became true (perf_counter)."""
    deadline = time.perf_counter() + limit
    while True:
        now = time.perf_counter()
        if ok(status(port)):
            return now
        if now > deadline:
            raise TimeoutError(f"{what}: not after {limit} s: {json.dumps(status(port))[:2000]}")
        time.sleep(0.02)


def state(role: str) -> Callable[[dict[str, Any]], str]:
    return lambda s: next((m["state"] for m in s["models"] if m["role"] == role), "absent")


def first_token(port: int) -> tuple[float, str]:
    """The first token's time of a short request, and the route that served it."""
    _, stamps, _, done = post_generate(port, SHORT)
    return stamps[0], str(done["route"])


class GpuMemory:
    """GPU memory taken for real, through PyTorch (else CuPy), and given back."""

    def __init__(self) -> None:
        self.block: Any = None
        self.lib = "torch" if importlib.util.find_spec("torch") else "cupy"

    def take(self, mib: int) -> None:
        if self.lib == "torch":
            import torch

            self.block = torch.empty(mib * 2**20, dtype=torch.uint8, device="cuda")
            torch.cuda.synchronize()
        else:
            import cupy

            self.block = cupy.empty(mib * 2**20, dtype=cupy.uint8)
            cupy.cuda.runtime.deviceSynchronize()

    def give_back(self) -> None:
        self.block = None
        if self.lib == "torch":
            import torch

            torch.cuda.empty_cache()
        else:
            import cupy

            cupy.get_default_memory_pool().free_all_blocks()


def pressure(port: int) -> dict[str, Any]:
    """Take GPU memory until the watch sees pressure, then give it back; the timings (ms)."""
    memory = GpuMemory()
    free = float(status(port)["memory"]["free_mib"])
    take = int(free - LOW_MIB / 2)
    out: dict[str, Any] = {
        "allocator": memory.lib,
        "free_before_mib": round(free),
        "taken_mib": take,
    }
    t0 = time.perf_counter()
    memory.take(take)
    out["allocate_ms"] = (time.perf_counter() - t0) * 1000
    routed = wait(port, "route to the fallback", lambda s: s["route"]["backend"] == "fallback", 60)
    at, route = first_token(port)
    out |= {
        "to_fallback_route_ms": (routed - t0) * 1000,
        "to_fallback_first_token_ms": (at - t0) * 1000,
        "served_by": route,
    }
    unloaded = wait(port, "primary unloaded", lambda s: state("primary")(s) == "unloaded", 60)
    out["primary_unloaded_ms"] = (unloaded - t0) * 1000
    out["free_under_pressure_mib"] = round(float(status(port)["memory"]["free_mib"]))
    t1 = time.perf_counter()
    memory.give_back()
    back = wait(
        port,
        "route back to the primary",
        lambda s: s["route"]["backend"] == "primary" and state("primary")(s) == "ready",
        180,
    )
    at, route = first_token(port)
    out |= {
        "back_route_ms": (back - t1) * 1000,
        "back_first_token_ms": (at - t1) * 1000,
        "back_served_by": route,
        "recover_hold_ms": HOLD_S * 1000,
    }
    return out


def table(runs: list[Run]) -> list[str]:
    lines = [
        "| clients | tokens | aggregate tok/s | per client tok/s | TTFT p50 ms | TTFT p95 ms |",
        "|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r.clients} | {r.tokens} | {r.rate:.1f} | {r.rate / r.clients:.1f} "
            f"| {r.ttft(0.5):.0f} | {r.ttft(0.95):.0f} |"
        )
    return lines


def doctor_lines(path: Path | None) -> list[str]:
    if path is None or not path.is_file():
        return ["(the doctor's report is missing)"]
    try:
        report = json.loads(path.read_text())
    except ValueError as exc:
        return [f"(the doctor's report is not JSON: {exc})"]
    lines = [f"overall: **{report['verdict']}**", ""]
    for c in report["checks"]:
        lines.append(f"- `{c['verdict']}` {c['title']}: {c['summary']}")
        if c.get("fix"):
            lines.append(f"  - fix: {c['fix']}")
    return lines


def write_results(out: Path, args: argparse.Namespace, found: dict[str, Any]) -> Path:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = ["# GPU run: results", ""]
    lines += [f"Run on {when} by `bash benchmarks/gpu/run.sh` (see README.md beside this file)."]
    lines += ["", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in found["machine"].items()]
    lines += ["", "## Phases (seconds)", "", *[f"- {p}" for p in args.phases.split(",") if p]]
    lines += ["", "## The doctor", "", *doctor_lines(args.doctor)]
    lines += ["", f"## Throughput through `api/generate` ({args.max_tokens} tokens a request)", ""]
    lines += ["Greedy, end-of-generation tokens banned, `llm_slots=16`, `gpu_layers=-1`.", ""]
    lines += table(found["runs"])
    one = found["runs"][0].rate
    lines += [
        "",
        "Batch gain against one client: "
        + ", ".join(f"{r.clients}: {r.rate / one:.2f}x" for r in found["runs"]),
    ]
    lines += ["", "## Memory-pressure switch (GPU memory taken for real)", ""]
    if "error" in found["pressure"]:
        lines.append(f"not measured: {found['pressure']['error']}")
    else:
        lines += [
            f"- {k}: {round(v) if isinstance(v, float) else v}"
            for k, v in found["pressure"].items()
        ]
    lines += ["", "## Whisper", "", found["whisper"], ""]
    path = out / "RESULTS.md"
    path.write_text("\n".join(lines))
    return path


def whisper_line() -> str:
    try:
        import ctranslate2
    except ImportError:
        return (
            "not measured: CTranslate2 and a Whisper model are not in the 64 MiB carried "
            "(the smallest, tiny.en, is 75 MB)"
        )
    count = ctranslate2.get_cuda_device_count()
    kinds = sorted(ctranslate2.get_supported_compute_types("cuda")) if count else []
    return f"CTranslate2 {ctranslate2.__version__}: {count} CUDA device(s), compute types {kinds}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--fallback", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--doctor", type=Path)
    parser.add_argument("--phases", default="")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--memory-source", default="nvml", help="host: a CPU smoke run")
    args = parser.parse_args()
    os.environ["NEIRA_BENCH_IGNORE_EOS"] = "1"
    neira = {
        "primary_path": str(args.model),
        "primary_model": "mistral-7b-shaped-random",
        "primary_context": 2048,
        "fallback_path": str(args.fallback),
        "fallback_model": "tinyllama-1b-shaped-random",
        "fallback_context": 2048,
        "cuda_enabled": True,
        "gpu_layers": -1,
        "llm_slots": 16,
        "speech_local": False,
        "queue_size": 64,
        "max_jobs_per_user": 64,
        "local_timeout_ms": 0,
        "memory_source": args.memory_source,
        "memory_interval": 0.1,
        "memory_low_mib": LOW_MIB,
        "memory_recover_mib": RECOVER_MIB,
        "memory_recover_seconds": HOLD_S,
    }
    found: dict[str, Any] = {"machine": machine(), "whisper": whisper_line()}
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="neira-gpu-"))
    app, thread = start_server(port, root, neira)
    try:
        wait(port, "primary ready", lambda s: state("primary")(s) == "ready", 300)
        run_clients(port, 1, 8, 0, first=1000)  # warm-up
        found["runs"] = []
        for clients in args.clients:
            run = run_clients(port, clients, args.max_tokens, 0)
            found["runs"].append(run)
            print(
                f"clients={clients:2}: {run.rate:7.1f} tok/s, TTFT p50 {run.ttft(0.5):6.0f} "
                f"ms, p95 {run.ttft(0.95):6.0f} ms",
                flush=True,
            )
        try:
            found["pressure"] = pressure(port)
        except Exception as exc:  # the table above is still worth writing
            found["pressure"] = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(found["pressure"], indent=1), flush=True)
    finally:
        stop_server(app, thread)
        shutil.rmtree(root, ignore_errors=True)
    print(write_results(args.out, args, found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
