"""The LLM and Whisper on the same CPU cores: alone, at once, and taking turns (the compute gate).

Loads the demo LLM (the engine's ``LlamaModel``: its batch loop) and the demo
multilingual Whisper (``WhisperTranscriber``) in this process, on the CPU, as
the server does. Then, for ``--seconds`` each, in rounds:

* the LLM alone: one greedy generation after another (tokens/s);
* Whisper alone: live windows of a 3 s English clip, one after another
  (windows/s, as the live streams' partials are);
* both at once, with ``compute_gate.CPU_GATE`` off (the runtimes compete);
* both at once, with the gate on (each call has all the cores, in turns).

For the last two it prints each side's throughput as a share of its own
alone, and their sum: how much of one machine the pair got (1.0: no loss;
below: time lost to threads spinning for each other). Medians over rounds,
measured in the same run. Usage::

    python benchmarks/bench_contention.py --rounds 3 --seconds 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neira_jupyter.engine import models  # noqa: E402
from neira_jupyter.engine.compute_gate import CPU_GATE  # noqa: E402
from neira_jupyter.engine.llm.base import TokenChunk  # noqa: E402
from neira_jupyter.engine.llm.llama import LlamaModel, LLMSpec  # noqa: E402
from neira_jupyter.engine.speech.whisper import SpeechSpec, WhisperTranscriber  # noqa: E402
from neira_jupyter.engine.speech.window import Window  # noqa: E402
from neira_jupyter.engine.types import ChatMessage, GenerationOptions  # noqa: E402
from tests.support.audio_fixtures import speak  # noqa: E402

Work = Callable[[threading.Event], int]
"""Runs until the event is set; returns how many units (tokens, windows) it did."""


def llm_work(llm: LlamaModel) -> Work:
    def run(stop: threading.Event) -> int:
        done = 0
        options = GenerationOptions(max_tokens=48, temperature=0.0)
        while not stop.is_set():
            ask = [ChatMessage("user", "Tell a long story about a lighthouse keeper.")]
            for item in llm.generate(ask, options):
                done += isinstance(item, TokenChunk)
                if stop.is_set():
                    break
        return done

    return run


def whisper_work(whisper: WhisperTranscriber, audio: np.ndarray) -> Work:
    def run(stop: threading.Event) -> int:
        done = 0
        while not stop.is_set():
            whisper.transcribe_windows([Window(audio, "en")])
            done += 1
        return done

    return run


def rates(works: list[Work], seconds: float) -> list[float]:
    """Each work's units per second, run side by side for ``seconds``."""
    stop = threading.Event()
    counts = [0] * len(works)

    def runner(index: int) -> None:
        counts[index] = works[index](stop)

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(len(works))]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return [count / elapsed for count in counts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    llm_path, speech_path = models.demo_llm_path(), models.demo_speech_path()
    if llm_path is None or speech_path is None:
        sys.exit("the demo models are not installed: make setup")
    llm = LlamaModel(LLMSpec("demo", llm_path, n_ctx=1024))
    whisper = WhisperTranscriber(SpeechSpec("whisper", speech_path, device="cpu"))
    llm.load()
    whisper.load()
    with tempfile.TemporaryDirectory() as tmp:
        wav = speak("Please send me the report before the meeting tomorrow.", "en", Path(tmp))
        with wave.open(str(wav)) as source:
            pcm = np.frombuffer(source.readframes(source.getnframes()), "<i2")
    audio = (pcm / 32768).astype(np.float32)
    work = [llm_work(llm), whisper_work(whisper, audio)]
    for run in work:  # warm up: the first calls load lazily and fill caches
        rates([run], 2.0)
    rows: dict[str, list[list[float]]] = {"alone": [], "at once": [], "gated": []}
    print(f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}")
    for _ in range(args.rounds):
        CPU_GATE.enabled = True  # alone, the gate is never waited for
        alone = [rates([w], args.seconds)[0] for w in work]
        CPU_GATE.enabled = False
        at_once = rates(work, args.seconds)
        CPU_GATE.enabled = True
        gated = rates(work, args.seconds)
        rows["alone"].append(alone)
        rows["at once"].append([r / a for r, a in zip(at_once, alone, strict=True)])
        rows["gated"].append([r / a for r, a in zip(gated, alone, strict=True)])
    llm.close()
    whisper.close()
    alone_llm = statistics.median(r[0] for r in rows["alone"])
    alone_speech = statistics.median(r[1] for r in rows["alone"])
    print(f"alone: LLM {alone_llm:.1f} tokens/s, Whisper {alone_speech:.2f} windows/s")
    print("| both running | LLM, of alone | Whisper, of alone | sum (1.0: one machine) |")
    print("| --- | --- | --- | --- |")
    for name in ("at once", "gated"):
        shares = rows[name]
        llm_share = statistics.median(s[0] for s in shares)
        speech_share = statistics.median(s[1] for s in shares)
        total = statistics.median(s[0] + s[1] for s in shares)
        print(f"| {name} | {llm_share:.2f} | {speech_share:.2f} | {total:.2f} |")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
