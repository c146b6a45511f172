"""Code completions as you type: latency while typing, cache reuse, and FIM quality (issue 26).

One process, one command::

    python benchmarks/bench_complete.py [--typers 1 4 8] [--seconds 20] [--debounce-ms 250]
                                        [--quality-lines 12] [--seed 7]

**Typing replay.** A real Jupyter server with the neira extension runs in
this process (``_server.py``) on the Qwen2.5-Coder 0.5B demo GGUF. Each
typer types the code cells of ``examples/*.ipynb`` character by character
at a human pace (70-130 ms a key, a pause of 0.5-1.2 s at the end of a line
or cell, and after three words in ten one of 0.3-0.8 s); when typing pauses for the debounce, it
asks ``POST api/complete`` for the gap at the cursor (the cell's prefix and
suffix, the notebook's earlier code cells as context, its own
``stream_key``), in the background, and types on: its next keystroke
closes the completion in flight (the server cancels it), as the lab
extension does, and its next completion would cancel it too. Reported per number of
concurrent typers: how long reading every typer's notebook took first (one
completion each, all at once, before typing starts: opening the notebooks,
not measured as typing), completions asked, how many showed a suggestion
before the next keystroke, how many were cancelled by the next
keystroke, time from the trigger (the request sent) to the first suggested
token (p50, p95, of those that got one before the next key: a slow one is
cancelled unseen, so compare the count too), and the share of prompt tokens
found in the cache (``prompt_tokens_reused`` / ``prompt_tokens`` over the
finished ones).

**Quality.** Lines cut from an installed library's source (``packaging``,
lines of 12-80 characters that are code, chosen with ``--seed``): the model
gets the code before and after the line and writes it back, once with its
FIM tokens and once with the plain instruction prompt (the same model with
its FIM template switched off). Reported: exact match of the line (spaces
at its ends ignored) and the mean time per line.

Numbers depend on what else runs on the machine: say so when it is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import random
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _server import TOKEN, free_port, start_server, stop_server

ROOT = Path(__file__).resolve().parents[1]
MAX_CONTEXT_CHARS = 6000  # as the lab extension sends: the nearest earlier cells, this much


def nearest(cells: list[str], limit: int) -> list[str]:
    """The last ``cells`` that fit in ``limit`` characters together, in order."""
    kept: list[str] = []
    for cell in reversed(cells):
        if sum(map(len, kept)) + len(cell) > limit:
            break
        kept.insert(0, cell)
    return kept


# -- typing replay ----------------------------------------------------------------------


@dataclass
class Notebook:
    cells: list[str]


@dataclass
class Tally:
    """What the completions of one run did."""

    asked: int = 0
    cancelled: int = 0
    first_token_s: list[float] = field(default_factory=list)
    prompt_tokens: int = 0
    reused: int = 0
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def example_notebooks() -> list[Notebook]:
    books = []
    for path in sorted((ROOT / "examples").glob("*.ipynb")):
        data = json.loads(path.read_text(encoding="utf-8"))
        cells = ["".join(c["source"]) for c in data["cells"] if c["cell_type"] == "code"]
        cells = [c for c in cells if c.strip()]
        if cells:
            books.append(Notebook(cells))
    return books


@dataclass
class InFlight:
    """A typer's completion being read; ``abort`` closes it (the next keystroke)."""

    conn: http.client.HTTPConnection
    aborted: threading.Event = field(default_factory=threading.Event)

    def abort(self) -> None:
        self.aborted.set()
        sock = self.conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def complete(
    port: int, body: dict[str, Any], tally: Tally, flight: InFlight | None = None
) -> None:
    """One streamed ``POST api/complete``: note its first token, reuse and end."""
    headers = {"Authorization": f"token {TOKEN}", "Content-Type": "application/json"}
    sent = time.perf_counter()
    flight = flight or InFlight(http.client.HTTPConnection("127.0.0.1", port, timeout=600))
    first: float | None = None
    done: dict[str, Any] | None = None
    try:
        flight.conn.request("POST", "/neira/api/complete", json.dumps(body), headers)
        response = flight.conn.getresponse()
        if response.status != 200:
            with tally.lock:
                tally.refused.append(f"{response.status}: {response.read()[:200]!r}")
            return
        while line := response.readline():
            event = json.loads(line)
            if event["type"] == "token" and first is None and event["text"]:
                first = time.perf_counter()
            elif event["type"] == "done":
                done = event
    except (OSError, http.client.HTTPException, ValueError):
        if not flight.aborted.is_set():
            raise
    finally:
        flight.conn.close()
    with tally.lock:
        tally.asked += 1
        if first is not None:
            tally.first_token_s.append(first - sent)
        if done is None:
            tally.cancelled += flight.aborted.is_set()
            return
        if done["finish_reason"] == "cancelled":
            tally.cancelled += 1
        else:
            tally.prompt_tokens += done["usage"]["prompt_tokens"]
            tally.reused += done["usage"].get("prompt_tokens_reused", 0)


def typer(
    port: int, index: int, books: list[Notebook], until: float, debounce: float, tally: Tally
) -> None:
    """Type the examples' cells until ``until``, asking for a completion at every pause."""
    rng = random.Random(index)
    book = books[index % len(books)]
    key = f"typer-{index}"
    pending: list[threading.Thread] = []
    flight: InFlight | None = None
    cell_index = index % len(book.cells)
    while time.perf_counter() < until:
        cell = book.cells[cell_index]
        context = nearest(book.cells[:cell_index], MAX_CONTEXT_CHARS)
        for i, ch in enumerate(cell):
            if time.perf_counter() >= until:
                break
            if flight is not None:  # this keystroke makes the suggestion in flight stale
                flight.abort()
                flight = None
            pause = rng.uniform(0.07, 0.13)
            if ch == "\n" or i == len(cell) - 1:
                pause = rng.uniform(0.5, 1.2)
            elif ch == " " and rng.random() < 0.3:
                pause = rng.uniform(0.3, 0.8)
            if pause >= debounce:
                time.sleep(debounce)
                body = {
                    "prefix": cell[: i + 1],
                    "suffix": "",
                    "context": context,
                    "max_tokens": 32,
                    "max_lines": 4,
                    "stream_key": key,
                }
                flight = InFlight(http.client.HTTPConnection("127.0.0.1", port, timeout=600))
                thread = threading.Thread(target=complete, args=(port, body, tally, flight))
                thread.start()
                pending.append(thread)
                time.sleep(pause - debounce)
            else:
                time.sleep(pause)
        cell_index = (cell_index + 1) % len(book.cells)
    for thread in pending:
        thread.join()


def warm_up(port: int, typers: int, books: list[Notebook]) -> float:
    """Each typer's notebook read once, all at once (opening the notebooks); the seconds it took."""
    began = time.perf_counter()
    threads = []
    for index in range(typers):
        book = books[index % len(books)]
        cell_index = index % len(book.cells)
        body = {
            "prefix": book.cells[cell_index][:1],
            "context": nearest(book.cells[:cell_index], MAX_CONTEXT_CHARS),
            "max_tokens": 1,
        }
        threads.append(threading.Thread(target=complete, args=(port, body, Tally())))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def replay(port: int, typers: int, seconds: float, debounce: float) -> tuple[Tally, float]:
    books = example_notebooks()
    warm = warm_up(port, typers, books)
    tally = Tally()
    until = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=typer, args=(port, i, books, until, debounce, tally))
        for i in range(typers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, warm


def status_json(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", "/neira/api/status", headers={"Authorization": f"token {TOKEN}"})
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- quality ---------------------------------------------------------------------------------


def held_out_lines(count: int, seed: int) -> list[tuple[str, str, str]]:
    """``count`` (prefix, suffix, line) cut from ``packaging``'s source."""
    import packaging

    files = sorted(Path(packaging.__file__).parent.glob("*.py"))
    rng = random.Random(seed)
    cuts: list[tuple[str, str, str]] = []
    while len(cuts) < count:
        text = rng.choice(files).read_text(encoding="utf-8")
        lines = text.split("\n")
        n = rng.randrange(len(lines))
        line = lines[n]
        body = line.strip()
        before = "\n".join(lines[:n])
        in_docstring = (before.count('"""') + before.count("'''")) % 2
        if not 12 <= len(body) <= 80 or body.startswith(("#", '"', "'")) or in_docstring:
            continue
        indent = line[: len(line) - len(line.lstrip())]
        prefix = before[-800:] + "\n" + indent
        suffix = "\n" + "\n".join(lines[n + 1 :])[:300]
        cuts.append((prefix, suffix, body))
    return cuts


def quality(count: int, seed: int) -> list[tuple[str, float, float]]:
    """(prompt kind, exact-match share, seconds per line) for FIM and the instruction prompt."""
    from neira_jupyter.engine.llm import LlamaModel, LLMSpec, TokenChunk
    from neira_jupyter.engine.models import demo_llm_path
    from neira_jupyter.engine.types import GenerationOptions, Infill

    path = demo_llm_path()
    assert path is not None, "the demo models are not installed"
    model = LlamaModel(LLMSpec(name="qwen", path=path, n_ctx=2048, slots=1))
    model.load()
    cuts = held_out_lines(count, seed)
    rows = []
    try:
        infill = model._infill
        assert infill is not None
        fim = infill.template
        for kind, template in (("FIM", fim), ("instruction", None)):
            infill.template = template  # the same model, its FIM template on or off
            right, began = 0, time.perf_counter()
            for prefix, suffix, line in cuts:
                options = GenerationOptions(
                    max_tokens=48, temperature=0.0, infill=Infill(prefix, suffix, max_lines=1)
                )
                text = "".join(
                    item.text
                    for item in model.generate([], options)
                    if isinstance(item, TokenChunk)
                )
                right += text.strip() == line
            rows.append((kind, right / len(cuts), (time.perf_counter() - began) / len(cuts)))
        infill.template = fim
    finally:
        model.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--typers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--seconds", type=float, default=20.0, help="typing per run")
    parser.add_argument("--debounce-ms", type=float, default=250.0)
    parser.add_argument("--quality-lines", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--slots", type=int, default=0, help="llm_slots (0: the default)")
    parser.add_argument(
        "--prompt-cache", type=int, default=None, help="llm_prompt_cache_tokens (default: its own)"
    )
    args = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory() as root:
        neira = {
            "queue_size": 64,
            "max_jobs_per_user": 64,
            "local_timeout_ms": 0,  # measure the primary: no switch to the fallback on a slow start
            "speech_device": "cpu",
            "llm_slots": args.slots,
        }
        if args.prompt_cache is not None:
            neira["llm_prompt_cache_tokens"] = args.prompt_cache
        app, thread = start_server(port, Path(root), neira)
        try:
            complete(port, {"prefix": "import os\n", "max_tokens": 4}, Tally())  # warm up
            slots = json.loads(status_json(port))["models"][0]["batch"]["slots"]
            cache = neira.get("llm_prompt_cache_tokens", "default")
            print(
                f"typing replay: demo Qwen2.5-Coder 0.5B, {slots} slots, prompt cache {cache} "
                f"tokens, {args.seconds:.0f} s per run, debounce {args.debounce_ms:.0f} ms"
            )
            print(
                "| typers | notebooks read (s) | completions | suggested before the next key | "
                "cancelled by typing | first token p50 | p95 | prompt tokens reused |"
            )
            print("| --- | --- | --- | --- | --- | --- | --- | --- |")
            for typers in args.typers:
                tally, warm = replay(port, typers, args.seconds, args.debounce_ms / 1000)
                share = (
                    f"{tally.reused / tally.prompt_tokens:.0%}" if tally.prompt_tokens else "n/a"
                )
                print(
                    f"| {typers} | {warm:.1f} | {tally.asked} | {len(tally.first_token_s)} | "
                    f"{tally.cancelled} | {pct(tally.first_token_s, 0.5) * 1000:.0f} ms | "
                    f"{pct(tally.first_token_s, 0.95) * 1000:.0f} ms | {share} |",
                    flush=True,
                )
                for refusal in sorted(set(tally.refused)):
                    print(f"  refused: {refusal}")
        finally:
            stop_server(app, thread)
    if args.quality_lines:
        print(
            f"\nquality: {args.quality_lines} lines cut from packaging's source, seed {args.seed}"
        )
        print("| prompt | exact match | seconds per line |")
        print("| --- | --- | --- |")
        for kind, share, seconds in quality(args.quality_lines, args.seed):
            print(f"| {kind} | {share:.0%} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
