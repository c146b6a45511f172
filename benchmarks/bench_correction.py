"""What transcript correction buys, per language: WER raw vs corrected, clips, latency (issue 10).

One process, one command::

    python benchmarks/bench_correction.py [--threads 2] [--show]

The sentences of ``tests/data/correction_eval.json`` are spoken (Russian:
festival ``msu_ru_nsh_clunits``; English: espeak-ng ``en-us``), transcribed
by the demo Whisper base (language ``auto``) and corrected by the demo LLM
(Qwen2.5-Coder-0.5B-Instruct, greedy) through ``TranscriptCorrector`` -- the
same code as ``POST api/correct``, without the HTTP hop. Each transcript is
corrected as Whisper wrote it (``whisper``) and lowercased without
punctuation (``plain``, what live partials look like). Printed per language
and condition: mean word error rate (jiwer) of the raw and corrected text,
words only and with case and punctuation, the clips improved / unchanged /
worsened (worse = either WER went up), degraded answers, and the correction
latency (median, p95; the first correction of a run loads no model but warms
the prompt cache and is included). Then, per language, where that latency
goes, from the model's own timings in the same run: the median time to the
first token, tokens generated and decode rate -- the floor under the latency
on this machine is about tokens / rate. ``--show`` prints every clip.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neira_jupyter.engine import models
from neira_jupyter.engine.correct import Generate
from neira_jupyter.engine.llm import LlamaModel, LLMSpec
from neira_jupyter.engine.types import ChatMessage, GenerationOptions, GenerationResult
from tests.support.correction_eval import (
    CONDITIONS,
    LANGUAGES,
    correct_all,
    llm_generate,
    summarise,
    transcribe_set,
    verdict,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--show", action="store_true", help="print every clip")
    args = parser.parse_args(argv)
    llm_path, speech_path = models.demo_llm_path(), models.demo_speech_path()
    if llm_path is None or speech_path is None:
        print("the demo models are not installed: pip install 'neira-jupyter[demo]'")
        return 1
    audio_dir = Path(os.environ.get("NEIRA_AUDIO_DIR", tempfile.gettempdir())) / "neira-eval"
    audio_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    clips = transcribe_set(speech_path, audio_dir, threads=args.threads)
    print(f"transcribed {len(clips) // 2} clips in {time.perf_counter() - started:.1f} s")
    model = LlamaModel(LLMSpec(models.DEMO_LLM_NAME, llm_path, n_ctx=2048, n_threads=args.threads))
    model.load()
    answers: list[GenerationResult] = []  # the model's results, in the clips' order
    inner = llm_generate(model)

    async def generate(messages: list[ChatMessage], options: GenerationOptions) -> GenerationResult:
        answers.append(await inner(messages, options))
        return answers[-1]

    recording: Generate = generate
    try:
        results = correct_all(clips, recording)
    finally:
        model.close()
    print(
        f"\n{models.DEMO_LLM_NAME}, whisper base, {args.threads} CPU threads\n"
        f"{'lang':4} {'input':7} {'n':>2}  {'WER words raw->corr':>20}  "
        f"{'WER punct raw->corr':>20}  {'better/same/worse':>17}  {'degr':>4}  "
        f"{'latency ms med/p95':>18}"
    )
    for lang in LANGUAGES:
        for condition in CONDITIONS:
            group = [r for r in results if (r.clip.lang, r.clip.condition) == (lang, condition)]
            s = summarise(group)
            words = f"{s.raw_words:.3f} -> {s.corrected_words:.3f}"
            punct = f"{s.raw_punct:.3f} -> {s.corrected_punct:.3f}"
            counts = f"{s.improved}/{s.unchanged}/{s.worsened}"
            latency = f"{s.latency_median_ms:.0f} / {s.latency_p95_ms:.0f}"
            print(
                f"{lang:4} {condition:7} {s.clips:>2}  {words:>20}  {punct:>20}  "
                f"{counts:>17}  {s.degraded:>4}  {latency:>18}"
            )
    print(f"\n{'lang':4} {'first token ms':>14} {'tokens':>6} {'decode tok/s':>12}  (medians)")
    for lang in LANGUAGES:
        mine = [a for a, r in zip(answers, results, strict=True) if r.clip.lang == lang]
        first = statistics.median(a.timings.first_token_ms or 0.0 for a in mine)
        tokens = statistics.median(a.usage.completion_tokens for a in mine)
        rate = statistics.median(a.timings.tokens_per_second or 0.0 for a in mine)
        print(f"{lang:4} {first:>14.0f} {tokens:>6.0f} {rate:>12.1f}")
    if args.show:
        for r in results:
            mark = {1: "+", 0: "=", -1: "-"}[verdict(r)]
            print(f"\n{mark} [{r.clip.lang}/{r.clip.condition}] {r.clip.reference}")
            print(f"   raw:       {r.clip.raw}\n   corrected: {r.corrected}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
