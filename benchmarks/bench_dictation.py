"""Many people dictating at once on one engine: first partial, stalls, final and WER per load.

Starts a real Jupyter server with the neira extension (the default
configuration: demo models) in its own process, then opens N WebSockets to
``WS api/transcribe/stream`` at once. Each client streams a different 5-9 s
clip (two sentences of the evaluation set) in 100 ms
frames **at real-time pace**, as a microphone would, then sends ``stop``.
For every client it records:

* first partial: from the frame in which speech begins to the first
  non-empty partial;
* stall: the longest time while the client speaks without a new partial
  (from the start of speech, between partials, up to the end of speech);
* final: from ``stop`` to the ``final`` message (with correction, as
  Dictate and the recorder ask for it);
* corrected before stop: the ``corrected`` messages (segments corrected
  while the client still spoke) that arrived before ``stop``;
* WER: words-only word error rate of the final raw transcript and of its
  corrected text (raw -> corrected);

and for the whole load, how busy the server kept the machine: its process's
CPU time (all threads) over the load's wall time and the number of cores.
Near 100%, the models need more compute than the machine has, and work
that speech brings in faster than it is done waits for the stop.

``--length`` picks the dictations: ``short`` (the two sentences above) and
``30``/``120`` (long dictations: sentences of the evaluation set with 1 s
pauses until that many seconds of audio), ``--lang`` English (espeak-ng)
and/or Russian (festival); every length is measured in every language.

With ``--baseline REV`` the same loads run first against a server built
from git revision REV (a temporary ``git worktree``), so both tables come
from one run on the same machine; ``--baseline-arg`` gives the baseline's
server options of its own (alone, it makes this tree with those options the
baseline: ``--baseline-arg=--NeiraApp.live_correction=False`` measures
correcting each dictation whole at stop). Usage::

    python benchmarks/bench_dictation.py --clients 1 4 8 16 --baseline b1799d2
    python benchmarks/bench_dictation.py --clients 1 8 --length short 30 --lang en ru
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jiwer
import numpy as np
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.audio_fixtures import speak  # noqa: E402
from tests.support.correction_eval import clip_path, load_set, words_only  # noqa: E402

FRAME = 1600  # samples: 100 ms at 16 kHz


@dataclass
class Clip:
    """One client's audio (16 kHz s16le, silence around the speech) and its reference."""

    reference: str
    pcm: np.ndarray
    speech_start: int  # frame index
    speech_end: int
    language: str = "en"


@dataclass
class ClientRun:
    """What one client measured."""

    first_partial_s: float
    stall_s: float
    final_s: float
    wer: float
    wer_corrected: float
    corrected_before_stop: int
    partials: int
    transcribe_s: float  # of ``final_s``: the last segment's decode (server's own timing)
    correct_s: float  # of ``final_s``: the correction
    corrected_by: str  # the model that corrected it, or why it was not corrected


@dataclass
class LoadRun:
    """All clients of one load."""

    clients: int
    runs: list[ClientRun] = field(default_factory=list)
    status: dict[str, object] = field(default_factory=dict)
    busy: float = float("nan")  # the server's CPU time over the load's wall time, per core


def speech_bounds(samples: np.ndarray) -> tuple[int, int]:
    """First and last 100 ms frame index holding speech (RMS above -40 dBFS)."""
    frames = samples[: samples.size // FRAME * FRAME].reshape(-1, FRAME).astype(np.float64)
    loud = np.flatnonzero(np.sqrt(np.mean((frames / 32768) ** 2, axis=1)) > 0.01)
    return int(loud[0]), int(loud[-1])


def long_clips(directory: Path, count: int, seconds: float, lang: str) -> list[Clip]:
    """``count`` dictations of ``seconds`` s or more: evaluation sentences, 1 s pauses."""
    sentences = load_set()[lang]
    clips = []
    for index in range(count):
        parts = [np.zeros(8000, np.int16)]
        said: list[str] = []
        for sentence in itertools.islice(itertools.cycle(sentences), index, None):
            parts.append(read_pcm(clip_path(lang, sentence, directory)))
            parts.append(np.zeros(16000, np.int16))
            said.append(sentence)
            if sum(p.size for p in parts) >= seconds * 16000:
                break
        pcm = np.concatenate(parts)
        start, end = speech_bounds(pcm)
        clips.append(Clip(" ".join(said), pcm, start, end, lang))
    return clips


def make_clips(directory: Path, count: int, lang: str = "en") -> list[Clip]:
    """``count`` clips of two sentences each (English espeak-ng, Russian festival),
    0.5 s of silence before, 1 s after: a one-breath dictation."""
    sentences = load_set()[lang]
    clips = []
    for index in range(count):
        said = [sentences[index % len(sentences)], sentences[(index + 1) % len(sentences)]]
        if lang == "en":  # one espeak-ng utterance, as this benchmark's first tables had
            parts = [read_pcm(speak(" ".join(said), "en", directory))]
        else:
            parts = [read_pcm(clip_path(lang, sentence, directory)) for sentence in said]
            parts.insert(1, np.zeros(4800, np.int16))  # 0.3 s between the sentences
        pcm = np.concatenate([np.zeros(8000, np.int16), *parts, np.zeros(16000, np.int16)])
        start, end = speech_bounds(pcm)
        clips.append(Clip(" ".join(said), pcm, start, end, lang))
    return clips


def read_pcm(wav: Path) -> np.ndarray:
    """A 16 kHz mono 16-bit WAV's samples."""
    with wave.open(str(wav)) as source:
        return np.frombuffer(source.readframes(source.getnframes()), "<i2")


async def dictate(url: str, token: str, clip: Clip) -> ClientRun:
    """Stream one clip at real-time pace, stop, and time what comes back."""
    ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
    partials: list[float] = []
    corrected: list[float] = []
    final: dict[str, object] = {}
    final_at = 0.0

    async def read() -> None:
        nonlocal final_at
        while True:
            raw = await ws.read_message()
            if raw is None:
                raise RuntimeError("the server closed the stream")
            message = json.loads(raw)
            if message["type"] == "partial" and message["confirmed"] + message["tentative"]:
                partials.append(time.perf_counter())
            elif message["type"] == "corrected":
                corrected.append(time.perf_counter())
            elif message["type"] == "error":
                raise RuntimeError(f"the stream failed: {message}")
            elif message["type"] == "final":
                final.update(message)
                final_at = time.perf_counter()
                return

    start_message = {"type": "start", "language": clip.language, "correct": True}
    await ws.write_message(json.dumps(start_message))
    reader = asyncio.ensure_future(read())
    sent: dict[int, float] = {}
    start = time.perf_counter()
    for index in range(clip.pcm.size // FRAME):
        await asyncio.sleep(max(0.0, start + index * 0.1 - time.perf_counter()))
        sent[index] = time.perf_counter()
        await ws.write_message(clip.pcm[index * FRAME : (index + 1) * FRAME].tobytes(), binary=True)
    stopped = time.perf_counter()
    await ws.write_message(json.dumps({"type": "stop"}))
    await reader
    ws.close()
    spoke, quiet = sent[clip.speech_start], sent[clip.speech_end] + 0.1
    during = [t for t in partials if t <= quiet]
    marks = [spoke, *during, quiet]
    stall = max(b - a for a, b in itertools.pairwise(marks))
    first = (partials[0] - spoke) if partials else float("nan")
    error = float(jiwer.wer(words_only(clip.reference), words_only(str(final["raw"]))))
    fixed = float(jiwer.wer(words_only(clip.reference), words_only(str(final["text"]))))
    timings = final["timings"]
    assert isinstance(timings, dict)
    correction = final.get("correction") or {}
    assert isinstance(correction, dict)
    corrected_by = (
        f"not corrected ({correction.get('reason_code') or correction.get('reason')})"
        if correction.get("degraded")
        else str(correction.get("model"))
    )
    return ClientRun(
        first,
        stall,
        final_at - stopped,
        error,
        fixed,
        sum(1 for t in corrected if t <= stopped),
        len(partials),
        timings.get("finish_transcribe_ms", 0.0) / 1000,
        timings.get("correct_ms", 0.0) / 1000,
        corrected_by,
    )


def status(base: str, token: str) -> dict[str, object]:
    request = urllib.request.Request(
        base + "neira/api/status", headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        document: dict[str, object] = json.loads(response.read())
    return document


@contextlib.contextmanager
def server(source: Path, workdir: Path, options: list[str]) -> Iterator[tuple[str, str, int]]:
    """A ``jupyter server`` process running the neira code in ``source``; (base URL, token,
    its process id)."""
    port = 19000 + os.getpid() % 500 + (hash(str(source)) % 400)
    token = uuid.uuid4().hex
    home = workdir / f"jupyter-{port}"
    home.mkdir(exist_ok=True)
    log = home / "server.log"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home), "JUPYTER_RUNTIME_DIR": str(home)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [
            sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root",
            f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.root_dir={workdir}",
            f"--IdentityProvider.token={token}",
            "--ServerApp.jpserver_extensions={'neira_jupyter': True}",
            # the benchmark's N clients are one user; the per-user caps are not what it measures
            "--NeiraApp.max_jobs_per_user=0", "--NeiraApp.max_sockets_per_user=0",
            *options,  # --server-arg
        ],
        cwd=source,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                models = status(base, token)["models"]
                assert isinstance(models, list)
                states = {m["role"]: m["state"] for m in models}
                if states.get("primary") == "ready" and states.get("speech") == "ready":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the server from {source} did not become ready:\n{tail}")
            time.sleep(0.5)
        yield base, token, process.pid
    finally:
        process.terminate()
        process.wait(30)


async def load(url: tuple[str, str], clips: list[Clip]) -> list[ClientRun]:
    base, token = url
    ws_url = base.replace("http", "ws", 1) + "neira/api/transcribe/stream"
    return list(await asyncio.gather(*(dictate(ws_url, token, clip) for clip in clips)))


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far, all its threads (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p(values: list[float], q: float) -> float:
    ordered = sorted(v for v in values if v == v)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


Dictations = dict[str, list[Clip]]
"""Each kind of dictation (``short``, ``30 s en`` ...) and its clips, one per client."""


def measure(
    source: Path, workdir: Path, dictations: Dictations, loads: list[int], options: list[str]
) -> dict[str, list[LoadRun]]:
    results: dict[str, list[LoadRun]] = {}
    with server(source, workdir, options) as (base, token, pid):
        url = base, token
        for name, clips in dictations.items():
            # warm-up (the language's first decodes and correction): 6 s of the first clip
            first = clips[0]
            warm = Clip(first.reference, first.pcm[: 6 * 16000], 0, 0, first.language)
            asyncio.run(load(url, [warm]))
            for clients in loads:
                cpu, began = cpu_seconds(pid), time.perf_counter()
                run = LoadRun(clients, asyncio.run(load(url, clips[:clients])))
                wall = time.perf_counter() - began
                run.busy = (cpu_seconds(pid) - cpu) / (wall * (os.cpu_count() or 1))
                speech = status(*url).get("speech")
                run.status = speech if isinstance(speech, dict) else {}
                results.setdefault(name, []).append(run)
    return results


def table(title: str, results: list[LoadRun]) -> None:
    one = statistics.median(r.final_s for r in results[0].runs)
    print(f"\n{title}")
    print(
        "| clients | first partial p50 / p95 | stall p95 (max) | final after stop p50 / p95 "
        "(max) | final vs 1 client | of which decode / correction p50 "
        "| corrected before stop (mean) | WER raw -> corrected | server CPU busy |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        first = [c.first_partial_s for c in r.runs]
        stall = [c.stall_s for c in r.runs]
        final = [c.final_s for c in r.runs]
        print(
            f"| {r.clients} | {p(first, 0.5):.1f} / {p(first, 0.95):.1f} s "
            f"| {p(stall, 0.95):.1f} s ({max(stall):.1f} s) "
            f"| {p(final, 0.5):.2f} / {p(final, 0.95):.2f} s ({max(final):.2f} s) "
            f"| {statistics.median(final) / one:.1f}x "
            f"| {p([c.transcribe_s for c in r.runs], 0.5):.2f} / "
            f"{p([c.correct_s for c in r.runs], 0.5):.2f} s "
            f"| {statistics.mean(c.corrected_before_stop for c in r.runs):.1f} "
            f"| {statistics.mean(c.wer for c in r.runs):.3f} -> "
            f"{statistics.mean(c.wer_corrected for c in r.runs):.3f} | {r.busy:.0%} |"
        )
    for r in results:
        who = collections.Counter(c.corrected_by for c in r.runs)
        print(f"  corrected by, {r.clients} clients: {dict(who)}")
    for r in results:
        if r.status:
            print(f"  status after {r.clients} clients: {json.dumps(r.status)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--baseline", metavar="REV", help="also measure git revision REV first")
    parser.add_argument(
        "--length", nargs="+", default=["short"], metavar="LENGTH",
        help="short (two sentences), or seconds of a long dictation (e.g. 30 120)",
    )  # fmt: skip
    parser.add_argument("--lang", nargs="+", default=["en"], choices=["en", "ru"])
    parser.add_argument(
        "--server-arg", action="append", default=[], metavar="OPTION",
        help="a server option for every server measured, e.g. --server-arg=--NeiraApp.llm_slots=8",
    )  # fmt: skip
    parser.add_argument(
        "--baseline-arg", action="append", default=[], metavar="OPTION",
        help="a server option for the baseline only; without --baseline, this tree with these "
        "options is the baseline, e.g. --baseline-arg=--NeiraApp.live_correction=False",
    )  # fmt: skip
    args = parser.parse_args()
    loads = sorted(set(args.clients))
    if loads[0] != 1:
        loads.insert(0, 1)  # the ratios are against one client
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        dictations: Dictations = {}
        for length in args.length:
            for lang in args.lang:
                if length == "short":
                    dictations[f"short {lang}"] = make_clips(workdir, max(loads), lang)
                    continue
                dictations[f"{length} s {lang}"] = long_clips(
                    workdir, max(loads), float(length), lang
                )
        for name, clips in dictations.items():
            seconds = [c.pcm.size / 16000 for c in clips]
            print(f"{name}: {len(clips)} clips of {min(seconds):.1f}-{max(seconds):.1f} s")
        print(f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}")
        if args.baseline or args.baseline_arg:
            tree = workdir / "baseline" if args.baseline else ROOT
            what = " ".join([args.baseline or "this tree", *args.baseline_arg])
            if args.baseline:
                add = ["worktree", "add", "--detach", str(tree), args.baseline]
                subprocess.run(["git", "-C", str(ROOT), *add], check=True, capture_output=True)
            try:
                options = args.server_arg + args.baseline_arg
                for name, runs in measure(tree, workdir, dictations, loads, options).items():
                    table(f"{name}, baseline {what}", runs)
            finally:
                if args.baseline:
                    subprocess.run(
                        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                        check=False,
                    )
        for name, runs in measure(ROOT, workdir, dictations, loads, args.server_arg).items():
            table(f"{name}, this tree", runs)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
