"""Load benchmark: 20 clients x 10 mixed requests against a live server, then memory after 500.

Starts a real Jupyter server with the neira extension and the demo models in
this process, warms it up, and runs the load of ``tests/support/load_mix.py``
(streamed and whole generations, corrections, transcriptions, cancels,
clients that leave mid-stream). Prints the outcomes, p50/p95 latency per kind
of request, and the process's resident memory after warm-up and after
the first load and ``--total`` requests (the server's leak check: within 5% is
the target; the growth after the first load shows what each request leaves).
The client side runs in the same process, so the figures include it.

    python benchmarks/bench_load.py [--clients 20] [--requests 10] [--total 500]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import logging
import statistics
import sys
import tempfile
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import TOKEN, free_port, start_server, stop_server  # noqa: E402

from tests.support.audio_fixtures import SENTENCES, speak  # noqa: E402
from tests.support.load_mix import KINDS, Outcome, run_load  # noqa: E402

logging.getLogger("ServerApp").setLevel(logging.ERROR)  # 429s are expected here


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(title: str, outcomes: list[Outcome]) -> None:
    print(f"\n{title}: {len(outcomes)} requests")
    counts = collections.Counter((o.kind, o.status) for o in outcomes)
    print(f"  {'kind':12} {'200/204':>8} {'429':>6} {'other':>6} {'p50 s':>8} {'p95 s':>8}")
    for kind in KINDS:
        mine = [o for o in outcomes if o.kind == kind]
        ok = counts[(kind, 200)] + counts[(kind, 204)]
        busy = counts[(kind, 429)]
        latencies = [o.seconds for o in mine if o.status in {200, 204}] or [0.0]
        print(
            f"  {kind:12} {ok:8} {busy:6} {len(mine) - ok - busy:6} "
            f"{statistics.median(latencies):8.2f} {percentile(latencies, 0.95):8.2f}"
        )
    bad = [o for o in outcomes if not o.accepted]
    print(f"  accepted (200/204, or 429 with Retry-After): {len(outcomes) - len(bad)}")
    for outcome in bad[:10]:
        print(f"  NOT ACCEPTED: {outcome}")


def rss_mib() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


async def main_async(args: argparse.Namespace, base: str, wav: bytes) -> None:
    await run_load(base, TOKEN, wav, clients=2, requests=len(KINDS))  # warm-up
    before = rss_mib()
    first = await run_load(base, TOKEN, wav, args.clients, args.requests, args.max_tokens)
    report(f"{args.clients} clients x {args.requests} requests", first)
    done = len(first)
    loaded = rss_mib()  # every lazy cache (lexicons, VAD, pools of 20 clients) is warm now
    print(f"\nmemory (RSS) after the first {done} requests: {loaded:.0f} MiB")
    while done < args.total:
        clients = min(args.clients, max(1, (args.total - done) // args.requests))
        more = await run_load(base, TOKEN, wav, clients, args.requests, args.max_tokens)
        done += len(more)
    after = rss_mib()
    print(f"\nmemory (RSS) after warm-up: {before:.0f} MiB; after {done} requests: {after:.0f} MiB")
    print(f"change: {100 * (after - before) / before:+.1f}% (target: within 5%)")
    print(f"change since the first {len(first)}: {100 * (after - loaded) / loaded:+.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--total", type=int, default=500)
    parser.add_argument("--max-tokens", type=int, default=8)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        wav = speak(SENTENCES["en"][0], "en", Path(tmp)).read_bytes()
        # every client uses the server's token, so all are one user (the owner): the
        # per-user cap would turn the load into 429s; the shared queue still bounds it
        app, thread = start_server(port, Path(tmp), {"max_jobs_per_user": 0})
        try:
            asyncio.run(main_async(args, f"http://127.0.0.1:{port}/", wav))
        finally:
            stop_server(app, thread)


if __name__ == "__main__":
    main()
