"""Continuous batching versus the serial path, through the HTTP API (issue 11).

One process, one command::

    python benchmarks/bench_batch.py [--clients 1 2 4 8 16] [--long-clients 1 4] [--max-tokens 32]
                                     [--long-tokens 512] [--slots 16] [--n-ctx 1024]
                                     [--threads N] [--rounds 1]

Two real Jupyter servers with the neira extension run one after the other in
this process (``_server.py``), both on the Qwen2.5-Coder 0.5B demo GGUF from
the model cache (``NEIRA_CACHE_DIR`` honoured) with the same context per
sequence: **serial** (``llm_slots=1``, one slot: one request at a time) and
**batched** (``llm_slots=--slots``), both ``LlamaModel``'s one batch loop.
``NEIRA_BENCH_IGNORE_EOS=1`` bans the end-of-generation
tokens in both, so every request produces exactly ``--max-tokens`` tokens.

For each number of concurrent clients, every client streams one
``POST api/generate`` (greedy, its own prompt) read line by line with
``http.client``, all started together. Two prompt kinds: a short question,
and one padded to about ``--long-tokens`` prompt tokens. Reported per run:

* aggregate tokens/s: all completion tokens / (last client done - first start);
* time to first token (TTFT) per client, median and p95 over the clients;
* inter-token latency (ITL): gaps between successive token events of a
  client, median and p95 over all clients' gaps.

Then ratios batched / serial at the same concurrency, and the batched path's
scaling against its own one-client run. With ``--rounds N`` the two servers
run N times, alternately (serial, batched, serial, ...), and every figure is
the median over the rounds: on a machine whose speed drifts (a shared host)
the ratios then compare like with like. Numbers depend on what else runs on
the machine: say so when it is shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from _server import free_port, post_generate, start_server, stop_server

QWEN_FILE = "qwen2.5-coder-0.5b-instruct.gguf"
SHORT = "Request {i}: write a long story about a robot who learns to paint."
FILLER = " The quick brown fox jumps over the lazy dog."  # about 10 tokens


@dataclass
class Run:
    """One concurrency level on one path."""

    clients: int
    tokens: int
    wall_s: float
    ttft_ms: list[float]
    itl_ms: list[float]

    @property
    def rate(self) -> float:
        return self.tokens / self.wall_s

    def ttft(self, q: float) -> float:
        return quantile(self.ttft_ms, q)

    def itl(self, q: float) -> float:
        return quantile(self.itl_ms, q)


def quantile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def prompt(i: int, long_tokens: int) -> str:
    text = SHORT.format(i=i)
    if long_tokens:
        text += FILLER * (long_tokens // 10)
    return text


def run_clients(port: int, clients: int, max_tokens: int, long_tokens: int, first: int = 0) -> Run:
    results: list[Any] = [None] * clients
    errors: list[BaseException] = []

    def client(i: int) -> None:
        body = {
            "prompt": prompt(first + i, long_tokens),
            "max_tokens": max_tokens,
            "temperature": 0,
        }
        try:
            results[i] = post_generate(port, body)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    first_start = min(r[0] for r in results)
    last_end = max(r[1][-1] for r in results)
    ttft = [(stamps[0] - start) * 1000 for start, stamps, _, _ in results]
    itl = [(b - a) * 1000 for _, stamps, _, _ in results for a, b in itertools.pairwise(stamps)]
    tokens = sum(done["usage"]["completion_tokens"] for _, _, _, done in results)
    return Run(clients, tokens, last_end - first_start, ttft, itl or [0.0])


def bench_path(
    model: Path, slots: int, args: argparse.Namespace, root: Path
) -> dict[tuple[str, int], Run]:
    port = free_port()
    neira = {
        "primary_path": str(model),
        "primary_context": args.n_ctx,
        "llm_slots": slots,
        "queue_size": 64,
        "max_jobs_per_user": 64,
        "local_timeout_ms": 0,  # measure the primary: no switch to the fallback on a slow start
        "speech_device": "cpu",
    }
    if args.threads:
        neira["n_threads"] = args.threads
    app, thread = start_server(port, root, neira)
    runs: dict[tuple[str, int], Run] = {}
    try:
        run_clients(port, 1, 4, 0, first=1000)  # loads the model; warms up, another prompt
        for kind, long_tokens, levels in (
            ("short", 0, args.clients),
            ("long", args.long_tokens, args.long_clients or args.clients),
        ):
            for clients in levels:
                run = run_clients(port, clients, args.max_tokens, long_tokens)
                runs[(kind, clients)] = run
                print(
                    f"  slots={slots:2} {kind:5} clients={clients:2}: {run.rate:6.1f} tok/s, "
                    f"TTFT p50 {run.ttft(0.5):7.0f} ms, ITL p50 {run.itl(0.5):6.0f} ms",
                    flush=True,
                )
    finally:
        stop_server(app, thread)
    return runs


Rounds = list[dict[tuple[str, int], Run]]


def median_of(rounds: Rounds, key: tuple[str, int], measure: Any) -> float:
    """The median over the rounds of ``measure(run)`` at ``key``."""
    return statistics.median(measure(runs[key]) for runs in rounds)


def report(serial: Rounds, batched: Rounds) -> None:
    def rate(r: Run) -> float:
        return r.rate

    def ttft50(r: Run) -> float:
        return r.ttft(0.5)

    def ttft95(r: Run) -> float:
        return r.ttft(0.95)

    def itl50(r: Run) -> float:
        return max(r.itl(0.5), 1e-9)

    def itl95(r: Run) -> float:
        return max(r.itl(0.95), 1e-9)

    def ratio(key: tuple[str, int], measure: Any, base: tuple[str, int] | None = None) -> float:
        """Median over the rounds of batched / serial (or batched / batched at ``base``)."""
        pairs = zip(batched, serial if base is None else batched, strict=True)
        return statistics.median(
            measure(b[key]) / measure(s[key if base is None else base]) for b, s in pairs
        )

    print(f"\nmedians over {len(serial)} round(s)")
    print(
        "\n| prompt | clients | serial tok/s | batched tok/s | batched/serial "
        "| batched vs 1 client | TTFT p50 b/s | TTFT p95 b/s | ITL p50 b/s | ITL p95 b/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key in serial[0]:
        kind, clients = key
        one = (kind, min(c for k, c in serial[0] if k == kind))
        print(
            f"| {kind} | {clients} | {median_of(serial, key, rate):.1f} "
            f"| {median_of(batched, key, rate):.1f} | {ratio(key, rate):.2f}x "
            f"| {ratio(key, rate, one):.2f}x | {ratio(key, ttft50):.2f} "
            f"| {ratio(key, ttft95):.2f} | {ratio(key, itl50):.2f} | {ratio(key, itl95):.2f} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--long-clients", type=int, nargs="+", help="(default: --clients)")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--long-tokens", type=int, default=512)
    parser.add_argument("--slots", type=int, default=16)
    parser.add_argument("--n-ctx", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=None, help="n_threads (unset: all cores)")
    parser.add_argument("--rounds", type=int, default=1, help="alternate the paths N times")
    args = parser.parse_args()
    from neira_jupyter.engine import models

    model = models.cache_dir() / QWEN_FILE
    if not model.is_file():
        print(f"missing {model}: assemble the demo models first", file=sys.stderr)
        return 1
    os.environ["NEIRA_BENCH_IGNORE_EOS"] = "1"
    print(f"cpu cores: {os.cpu_count()}, load average: {os.getloadavg()}", flush=True)
    root = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    serial: Rounds = []
    batched: Rounds = []
    try:
        for n in range(1, args.rounds + 1):
            print(f"round {n}: serial path (llm_slots=1)", flush=True)
            serial.append(bench_path(model, 1, args, root))
            print(f"round {n}: batched path (llm_slots={args.slots})", flush=True)
            batched.append(bench_path(model, args.slots, args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report(serial, batched)
    print(f"\nload average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
