"""What the relay costs: alice's single-user server vs straight to the neira service.

One command::

    PYTHONPATH=$PWD python benchmarks/bench_relay.py [--runs 7] [--max-tokens 48]

Starts the real JupyterHub of tests/support/hub_fixture.py (proxy, the managed
``neira`` service with the demo models, alice's server relaying), then
alternates, run by run, the same streamed ``POST generate`` (same prompt,
temperature 0, fixed seed, so the same tokens):

- **direct**: ``{hub}/services/neira/neira/api/generate`` (Hub proxy -> service);
- **relay**: ``{hub}/user/alice/neira/api/generate`` (Hub proxy -> alice's
  server -> Hub proxy -> service).

Time to first token (TTFT) is from sending the request to the first token
event; tokens/s is ``(n - 1) / (t_last - t_first)`` over token events.
Medians of ``--runs`` runs after one warm-up each; ratios are relay / direct.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.hub_fixture import LiveHub

PROMPT = "Count from 1 to 100, separated by commas: 1, 2, 3,"


def one_run(client: httpx.Client, url: str, headers: dict[str, str], max_tokens: int) -> tuple[
        float, float, int]:  # fmt: skip
    """TTFT in seconds, decode tokens/s, and the number of token events."""
    body = {"prompt": PROMPT, "max_tokens": max_tokens, "temperature": 0, "seed": 1}
    sent = time.perf_counter()
    times: list[float] = []
    with client.stream("POST", url + "generate", headers=headers, json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.strip() and json.loads(line)["type"] == "token":
                times.append(time.perf_counter())
    if len(times) < 2:
        raise RuntimeError(f"only {len(times)} tokens from {url}")
    return times[0] - sent, (len(times) - 1) / (times[-1] - times[0]), len(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--max-tokens", type=int, default=48)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        hub = LiveHub.start(Path(root))
        try:
            hub.wait_service_ready("alice")
            hub.start_server("alice")
            targets = {"direct": hub.service, "relay": hub.user_api("alice")}
            results: dict[str, list[tuple[float, float, int]]] = {k: [] for k in targets}
            with httpx.Client(timeout=300) as client:
                for url in targets.values():  # warm-up
                    one_run(client, url, hub.auth("alice"), args.max_tokens)
                for _ in range(args.runs):
                    for name, url in targets.items():
                        results[name].append(
                            one_run(client, url, hub.auth("alice"), args.max_tokens)
                        )
        finally:
            hub.stop()
    medians = {}
    print(f"{args.runs} runs each, max_tokens={args.max_tokens}, demo LLM, CPU")
    for name, rows in results.items():
        ttft = statistics.median(r[0] for r in rows) * 1000
        rate = statistics.median(r[1] for r in rows)
        tokens = statistics.median(r[2] for r in rows)
        medians[name] = (ttft, rate)
        print(
            f"{name:>6}: TTFT median {ttft:7.1f} ms, decode {rate:6.1f} tokens/s "
            f"({tokens:.0f} token events)"
        )
    print(f" ratio: TTFT relay/direct {medians['relay'][0] / medians['direct'][0]:.2f}, "
          f"tokens/s relay/direct {medians['relay'][1] / medians['direct'][1]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
