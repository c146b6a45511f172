"""Part 3 of ``bench_engine.py``: what ``POST api/correct`` does to the server's transcripts.

Word error rate (jiwer) against the reference, of the raw transcript and of
the corrected one, over all clips of a language: ``words`` with the
correction evaluation's ``words_only`` (``tests/support/correction_eval.py``:
casefolded, punctuation dropped, ё read as е), ``cased`` with jiwer's default
(case and punctuation kept). English raw text: the server's transcripts of
part 2; Russian: the server's (the demo Whisper base is multilingual) with
language ``"ru"``. Imported after ``bench_engine.py`` put the repository on
``sys.path``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jiwer
from _engine_speech import transcribe_server

from tests.support.audio_fixtures import SENTENCES
from tests.support.correction_eval import words_only


@dataclass
class Corrected:
    """One transcript, its reference, and ``api/correct``'s answer."""

    lang: str
    reference: str
    raw: str
    answer: dict[str, Any]


def wer(references: list[str], hypotheses: list[str], folded: bool) -> float:
    """Word error rate over all pairs: words only when ``folded``, else case and punctuation."""
    if folded:
        references = [words_only(text) for text in references]
        hypotheses = [words_only(text) for text in hypotheses]
    return float(jiwer.wer(references, hypotheses))


def bench_correction(client: Any, english: dict[Path, str], russian: list[Path]) -> list[Corrected]:
    """Correct each raw transcript through ``api/correct``: the English ones of part 2
    (clip -> raw, in ``SENTENCES["en"]``'s order), then the Russian clips, transcribed
    here by the server with language "ru"."""
    items = [("en", ref, raw) for ref, raw in zip(SENTENCES["en"], english.values(), strict=True)]
    items += [
        ("ru", ref, transcribe_server(client, clip, "ru")[1])
        for ref, clip in zip(SENTENCES["ru"], russian, strict=True)
    ]
    return [
        Corrected(lang, ref, raw, client.correct(raw, language=lang)) for lang, ref, raw in items
    ]


def print_correction(items: list[Corrected]) -> None:
    """The part's table: WER per language, the degraded answers and why, every clip."""
    print("== 3. correction quality: WER of raw vs corrected (POST api/correct) ==")
    print("  words = casefolded, punctuation stripped, ё as е; cased = case and punctuation kept")
    print(f"  {'lang':4} {'clips':>5} {'words raw':>10} {'corrected':>10} "
          f"{'cased raw':>10} {'corrected':>10} {'degraded':>9}")  # fmt: skip
    for lang in ("en", "ru"):
        group = [c for c in items if c.lang == lang]
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
            "  (the demo LLM, Qwen2.5-Coder-0.5B-Instruct, is small: it repeated the "
            "instruction instead of following it; the guard rejects that)"
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
