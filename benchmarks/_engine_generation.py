"""Part 1 of ``bench_engine.py``: direct llama-cpp-python streaming vs ``POST api/generate``.

Both paths get ``bench_magics.PROMPT`` at temperature 0, seed 0 and the same
max_tokens; runs alternate and swap which path goes first every round, after
one warm-up each. Each run is a ``bench_magics.Sample`` (time to the first
token with text, decode rate, tokens counted by the direct model's tokenizer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from _machine import med
from _server import post_generate
from bench_magics import PROMPT, Sample, sample, stream_direct


def generate_server(port: int, max_tokens: int) -> tuple[float, list[float], str, dict[str, Any]]:
    """``POST api/generate`` streaming NDJSON; (start, token times, text, the done event)."""
    body = {"prompt": PROMPT, "max_tokens": max_tokens, "temperature": 0.0, "top_p": 1.0, "seed": 0}
    return post_generate(port, body)


@dataclass
class GenerationRuns:
    """Every run of both paths, and the engine's own timings of the server runs."""

    direct: list[Sample] = field(default_factory=list)
    server: list[Sample] = field(default_factory=list)
    engine_ttft_ms: list[float] = field(default_factory=list)
    engine_rate: list[float] = field(default_factory=list)
    same_text: int = 0


def bench_generation(llama: Any, port: int, runs: int, max_tokens: int) -> GenerationRuns:
    """``runs`` runs of each path, alternating, after one warm-up each."""

    def count(text: str) -> int:
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    stream_direct(llama, max_tokens)  # warm-up: caches, page faults, the prompt prefix
    generate_server(port, max_tokens)
    result = GenerationRuns()
    for index in range(runs):
        order = ("direct", "server") if index % 2 == 0 else ("server", "direct")
        texts: dict[str, str] = {}
        for path in order:
            if path == "direct":
                started, stamps, text = stream_direct(llama, max_tokens)
                result.direct.append(sample(started, stamps, count(text)))
            else:
                started, stamps, text, done = generate_server(port, max_tokens)
                result.server.append(sample(started, stamps, count(text)))
                timings = done.get("timings") or {}
                if timings.get("first_token_ms") is not None:
                    result.engine_ttft_ms.append(timings["first_token_ms"])
                if timings.get("tokens_per_second") is not None:
                    result.engine_rate.append(timings["tokens_per_second"])
            texts[path] = text
        result.same_text += texts["direct"] == texts["server"]
    return result


def print_generation(gen: GenerationRuns, runs: int, max_tokens: int) -> None:
    """The part's table: medians per path, the engine's timings, the ratios."""
    print("== 1. generation: direct llama-cpp-python vs POST api/generate (NDJSON) ==")
    print(
        f"prompt {PROMPT!r}, max_tokens {max_tokens}, temperature 0, seed 0; "
        f"medians of {runs} runs each, alternating, after 1 warm-up each"
    )
    rows = [
        ("direct", med([s.ttft_s * 1000 for s in gen.direct]),
         med([s.tokens_per_s for s in gen.direct]), med([s.tokens for s in gen.direct])),
        ("server", med([s.ttft_s * 1000 for s in gen.server]),
         med([s.tokens_per_s for s in gen.server]), med([s.tokens for s in gen.server])),
    ]  # fmt: skip
    print(f"  {'path':28} {'TTFT ms':>9} {'tokens/s':>9} {'tokens':>7}")
    for name, ttft, rate, tokens in rows:
        print(f"  {name:28} {ttft:9.1f} {rate:9.1f} {tokens:7.0f}")
    print(
        f"  {'(server, engine-side timings)':28} {med(gen.engine_ttft_ms):9.1f} "
        f"{med(gen.engine_rate):9.1f}"
    )
    (_, d_ttft, d_rate, _), (_, s_ttft, s_rate, _) = rows
    print(
        f"  ratio server/direct: TTFT x{s_ttft / d_ttft:.2f} ({s_ttft - d_ttft:+.1f} ms), "
        f"tokens/s x{s_rate / d_rate:.2f}"
    )
    ttfts = sorted(s.ttft_s * 1000 for s in gen.server)
    dttfts = sorted(s.ttft_s * 1000 for s in gen.direct)
    print(
        f"  TTFT range ms: direct {dttfts[0]:.1f}-{dttfts[-1]:.1f}, "
        f"server {ttfts[0]:.1f}-{ttfts[-1]:.1f}"
    )
    print(f"  identical text on both paths: {gen.same_text}/{runs} runs")
