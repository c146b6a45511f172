"""The correction evaluation of issue 10, shared by its test and ``benchmarks/bench_correction.py``.

The sentences of ``tests/data/correction_eval.json`` are spoken (Russian by
festival's ``msu_ru_nsh_clunits`` voice, English by espeak-ng), transcribed by
the demo Whisper base (language ``auto``, 2 CPU threads) and corrected by the
demo LLM through ``TranscriptCorrector``. Each transcript is corrected twice:
as Whisper wrote it (``whisper``: punctuated) and lowercased with punctuation
removed (``plain``: what a live partial or a bare transcript looks like).

Word error rate (jiwer) is measured two ways: ``words`` (casefolded,
punctuation dropped, ё read as е) and ``punct`` (case kept, every punctuation
mark a token of its own).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jiwer

from neira_jupyter.engine.correct import Generate, TranscriptCorrector
from neira_jupyter.engine.correct_merge import word_key
from neira_jupyter.engine.llm import LlamaModel
from neira_jupyter.engine.types import ChatMessage, GenerationOptions, GenerationResult
from tests.support.audio_fixtures import _publish, speak, to_16k_mono

EVAL_FILE = Path(__file__).resolve().parents[1] / "data" / "correction_eval.json"
LANGUAGES = ("ru", "en")
CONDITIONS = ("whisper", "plain")


def load_set() -> dict[str, list[str]]:
    """The reference sentences by language."""
    data = json.loads(EVAL_FILE.read_text(encoding="utf-8"))
    return {lang: list(data[lang]) for lang in LANGUAGES}


def festival(text: str, directory: Path) -> Path:
    """A 16 kHz mono WAV of Russian ``text`` spoken by festival (lower case, UTF-8)."""
    for tool in ("text2wave", "sox"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed (apt-get install -y festival festvox-ru)")
    digest = hashlib.sha256(f"festival\0{text}".encode()).hexdigest()[:16]
    target = Path(directory) / f"festival-ru-{digest}.wav"
    if target.exists():
        return target

    def write(tmp: Path) -> None:
        source, raw = tmp.with_suffix(".txt"), tmp.with_suffix(".raw.wav")
        try:
            source.write_text(text.lower(), encoding="utf-8")
            voice = "(voice_msu_ru_nsh_clunits)"
            subprocess.run(
                ["text2wave", "-eval", voice, str(source), "-o", str(raw)],
                check=True,
                capture_output=True,
            )
            to_16k_mono(raw, tmp)
        finally:
            source.unlink(missing_ok=True)
            raw.unlink(missing_ok=True)

    return _publish(write, target)


def clip_path(lang: str, text: str, directory: Path) -> Path:
    """The spoken clip of ``text``: festival for Russian, espeak-ng for English."""
    return festival(text, directory) if lang == "ru" else speak(text, lang, directory)


def words_only(text: str) -> str:
    """Casefolded words without punctuation, ё as е."""
    return " ".join(key for key in map(word_key, text.split()) if key)


def with_punctuation(text: str) -> str:
    """Case kept, every punctuation mark a separate token."""
    return " ".join(re.findall(r"\w+|[^\w\s]", text))


def unpunctuated(text: str) -> str:
    """Lower case with punctuation removed (apostrophes kept), as a live partial looks."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def wer(reference: str, hypothesis: str, punct: bool) -> float:
    """Word error rate of one clip, ``punct``-aware or words only."""
    norm = with_punctuation if punct else words_only
    return float(jiwer.wer(norm(reference), norm(hypothesis)))


@dataclass
class Clip:
    """One transcript to correct."""

    lang: str
    condition: str
    reference: str
    raw: str


@dataclass
class Scored:
    """One clip's correction and its word error rates."""

    clip: Clip
    corrected: str
    degraded: bool
    latency_ms: float

    def wer(self, which: str, punct: bool) -> float:
        text = self.clip.raw if which == "raw" else self.corrected
        return wer(self.clip.reference, text, punct)


def transcribe_set(speech_path: Path, directory: Path, threads: int = 2) -> list[Clip]:
    """Speak and transcribe every sentence; one ``whisper`` and one ``plain`` clip each."""
    from neira_jupyter.engine.speech import SpeechSpec, WhisperTranscriber, decode_audio

    model = WhisperTranscriber(SpeechSpec("whisper-base", speech_path, cpu_threads=threads))
    model.load()
    clips: list[Clip] = []
    try:
        for lang, sentences in load_set().items():
            for sentence in sentences:
                audio = decode_audio(clip_path(lang, sentence, directory).read_bytes())
                text = model.transcribe(audio, language="auto").text.strip()
                clips.append(Clip(lang, "whisper", sentence, text))
                clips.append(Clip(lang, "plain", sentence, unpunctuated(text)))
    finally:
        model.close()
    return clips


def llm_generate(model: LlamaModel) -> Generate:
    """An awaited ``generate`` running ``model`` in a worker thread."""

    async def generate(messages: list[ChatMessage], options: GenerationOptions) -> GenerationResult:
        def run() -> GenerationResult:
            *_, result = model.generate(messages, options)
            assert isinstance(result, GenerationResult)
            return result

        return await asyncio.to_thread(run)

    return generate


def correct_all(clips: Iterable[Clip], generate: Generate) -> list[Scored]:
    """Correct every clip (language ``auto``) and time each correction."""
    corrector = TranscriptCorrector()

    async def run() -> list[Scored]:
        out: list[Scored] = []
        for clip in clips:
            started = time.perf_counter()
            result = await corrector.correct(clip.raw, "auto", generate, timeout_s=300)
            elapsed = (time.perf_counter() - started) * 1000
            out.append(Scored(clip, result.corrected, result.degraded, elapsed))
        return out

    return asyncio.run(run())


@dataclass
class Summary:
    """Mean WERs, clip counts and latencies of one group of clips."""

    clips: int
    raw_words: float
    corrected_words: float
    raw_punct: float
    corrected_punct: float
    improved: int
    unchanged: int
    worsened: int
    degraded: int
    latency_median_ms: float
    latency_p95_ms: float


def verdict(result: Scored) -> int:
    """-1 when either WER got worse, 1 when none did and one got better, else 0."""
    pairs = [(result.wer("corrected", p), result.wer("raw", p)) for p in (False, True)]
    if any(corrected > raw for corrected, raw in pairs):
        return -1
    return 1 if any(corrected < raw for corrected, raw in pairs) else 0


def summarise(results: list[Scored]) -> Summary:
    """Aggregate one group of clips."""

    def mean(which: str, punct: bool) -> float:
        return statistics.fmean(r.wer(which, punct) for r in results)

    verdicts = [verdict(r) for r in results]
    latencies = sorted(r.latency_ms for r in results)
    return Summary(
        clips=len(results),
        raw_words=mean("raw", False),
        corrected_words=mean("corrected", False),
        raw_punct=mean("raw", True),
        corrected_punct=mean("corrected", True),
        improved=verdicts.count(1),
        unchanged=verdicts.count(0),
        worsened=verdicts.count(-1),
        degraded=sum(r.degraded for r in results),
        latency_median_ms=statistics.median(latencies),
        latency_p95_ms=latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
    )


UNRELATED_WER = 0.5
"""A transcript that gets more than half the words wrong is not a mishearing to correct."""


def unrelated(result: Scored) -> bool:
    """Whisper heard something else altogether (words-only WER above ``UNRELATED_WER``)."""
    return result.wer("raw", False) > UNRELATED_WER


def worse_clips(results: list[Scored]) -> list[Scored]:
    """Clips whose corrected text has a higher words-only or punctuation-aware WER than raw.

    An ``unrelated`` transcript is left out: punctuating a sentence that was never
    said moves its WER either way by chance (a "." where the reference has "?").
    """
    return [r for r in results if verdict(r) == -1 and not unrelated(r)]
