"""Transcript -> corrected text with the LLM, guarded so a correction never makes it worse.

The pipeline: the seed's Russian prompt (or its English twin, chosen by the
declared language or, for ``"auto"``, by the share of Cyrillic letters),
preceded by worked examples as earlier chat turns (``EXAMPLES``, a question
among them, so that a question is corrected and not answered), greedy
decoding with a token budget scaled to the input, stop sequences against a
model that continues the ``Text:`` pattern, ``clean_output`` for labels and
quotes, then two guards:

1. ``CorrectionGuard`` on the whole answer: non-empty, no echo of the prompt,
   a sane length, close to the input (character edit distance over case- and
   punctuation-folded text). A rejected answer gives a *degraded*
   ``Correction`` whose ``corrected`` is the raw text and whose ``reason``
   says why -- as do no model, an error, a timeout, a cut-off answer.
2. ``merge_correction`` word by word (``correct_merge``): the model's
   punctuation and casing are kept; a substituted word only when it is spelled
   close to the heard one and turns a non-word into a known word (wordfreq's
   lexicon); inserted and dropped words are ignored. ``finish_sentence`` then
   capitalises and ends an unpunctuated text (live partials, Dictate text).

The module does no I/O of its own: the caller passes the awaited ``generate``
callable (the engine routes it to the primary, fallback or remote model). On a
timeout ``generate`` is cancelled; it should then stop its model work.
Edit distances and word diffs use rapidfuzz (bit-parallel, C++).
"""

from __future__ import annotations

import asyncio
import enum
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import Levenshtein

from .correct_merge import MergePolicy, finish_sentence, merge_correction, wordfreq_lexicon
from .types import ChatMessage, GenerationOptions, GenerationResult, Latency

Generate = Callable[[list[ChatMessage], GenerationOptions], Awaitable[GenerationResult]]

PROMPTS: dict[str, str] = {
    "ru": (
        "Ты - помощник, который исправляет ошибки распознавания речи. "
        "Исправь ошибки, расставь знаки препинания и улучши читаемость следующего текста:"
        "\n\nТекст: {text}\n\nИсправленный текст:"
    ),
    "en": (
        "You are an assistant that fixes speech recognition errors. "
        "Fix the errors, add punctuation and improve the readability of the following text:"
        "\n\nText: {text}\n\nCorrected text:"
    ),
}

# Worked examples per language, sent as earlier chat turns: they show the model the
# answer's form (the text alone, misheard words fixed, punctuation) better than words do.
EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "ru": (
        (
            "мы встретимся в парки возле фантана сегодня вечером",
            "Мы встретимся в парке возле фонтана сегодня вечером.",
        ),
        (
            "он купил новый тилифон и наушникив магазине",
            "Он купил новый телефон и наушники в магазине.",
        ),
        (  # a question is corrected, never answered
            "вы не подскажите как пройти к библиотеки",
            "Вы не подскажете, как пройти к библиотеке?",
        ),
    ),
    "en": (
        (
            "i think we should meat at the station tomorrow morning",
            "I think we should meet at the station tomorrow morning.",
        ),
        ("can you sent me the fial before lunch", "Can you send me the file before lunch?"),
    ),
}

STOP_SEQUENCES: tuple[str, ...] = ("\n\nТекст:", "\n\nText:")

# Prompt text that has no business in a corrected transcript (unless the transcript had it).
_ECHO_MARKERS: tuple[str, ...] = (
    "исправляет ошибки распознавания речи",
    "fixes speech recognition errors",
    "исправленный текст:",
    "corrected text:",
)
_LABEL = r"(?:Исправленный текст|Corrected text|Текст|Text)\s*:"
_LEADING_LABEL = re.compile(rf"^\s*{_LABEL}\s*", re.IGNORECASE)
_CONTINUATION = re.compile(rf"\n\s*\n\s*{_LABEL}", re.IGNORECASE)
_QUOTES = {'"': '"', "'": "'", "«": "»", "“": "”", "„": "“", "`": "`"}


def detect_language(text: str) -> str:
    """``"ru"`` when at least half of the letters are Cyrillic, else ``"en"``."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "en"
    cyrillic = sum(1 for ch in letters if "CYRILLIC" in unicodedata.name(ch, ""))
    return "ru" if cyrillic * 2 >= len(letters) else "en"


def prompt_language(language: str, text: str) -> str:
    """The prompt to use: ``"ru"``/``"en"`` as declared; anything else (``"auto"``) by script."""
    return language if language in PROMPTS else detect_language(text)


def build_prompt(text: str, language: str) -> str:
    """The seed's correction prompt for ``text`` (``language`` is ``"ru"`` or ``"en"``)."""
    return PROMPTS[language].format(text=text)


def _normalise(text: str) -> str:
    """Casefolded, punctuation dropped, whitespace collapsed."""
    kept = "".join(
        " " if unicodedata.category(ch).startswith("P") else ch for ch in text.casefold()
    )
    return " ".join(kept.split())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance in characters (rapidfuzz)."""
    return int(Levenshtein.distance(a, b))


def normalised_distance(a: str, b: str) -> float:
    """Edit distance of the normalised strings over the longer one's length (0: same)."""
    na, nb = _normalise(a), _normalise(b)
    longest = max(len(na), len(nb))
    return edit_distance(na, nb) / longest if longest else 0.0


class DegradedReason(enum.StrEnum):
    """Why a correction came back degraded, from a fixed set (``reason`` has the words)."""

    NO_MODEL = "no_model"
    TIMEOUT = "timeout"
    MODEL_ERROR = "model_error"
    CANCELLED = "cancelled"
    EMPTY = "empty"
    ECHO = "echo"
    LENGTH = "length"
    DISTANCE = "distance"
    CUT_OFF = "cut_off"


@dataclass(frozen=True)
class CorrectionGuard:
    """Decides whether a model's answer may replace the raw transcript.

    ``max_distance``: the largest normalised character edit distance allowed
    (a correction fixes words, it does not rewrite the text). The length
    ratios bound ``len(candidate) / len(raw)``: a runaway continuation or a
    truncated answer is rejected with a clearer reason than the distance.
    """

    max_distance: float = 0.5
    max_length_ratio: float = 2.0
    min_length_ratio: float = 0.5

    def check(self, raw: str, candidate: str) -> str | None:
        """The reason to reject ``candidate``, or None when it is acceptable."""
        rejection = self.judge(raw, candidate)
        return rejection[1] if rejection is not None else None

    def judge(self, raw: str, candidate: str) -> tuple[DegradedReason, str] | None:
        """Why ``candidate`` is rejected (its kind and the reason in words), or None."""
        raw, candidate = raw.strip(), candidate.strip()
        if not candidate:
            return DegradedReason.EMPTY, "the model returned an empty answer"
        folded_raw, folded = raw.casefold(), candidate.casefold()
        for marker in _ECHO_MARKERS:
            if marker in folded and marker not in folded_raw:
                return DegradedReason.ECHO, "the model echoed the prompt, not a correction"
        ratio = len(candidate) / max(len(raw), 1)
        if ratio > self.max_length_ratio:
            return DegradedReason.LENGTH, (
                f"the answer is {ratio:.1f} times as long as the text "
                f"(the limit is {self.max_length_ratio:g})"
            )
        if ratio < self.min_length_ratio:
            return DegradedReason.LENGTH, (
                f"the answer is {ratio:.1f} times as long as the text "
                f"(at least {self.min_length_ratio:g} is expected)"
            )
        distance = normalised_distance(raw, candidate)
        if distance > self.max_distance:
            return DegradedReason.DISTANCE, (
                f"the answer differs too much from the text "
                f"(edit distance {distance:.2f}, the limit is {self.max_distance:g})"
            )
        return None


def clean_output(text: str) -> str:
    """Strip a leading label, a continuation of the prompt's pattern, and surrounding quotes."""
    text = _LEADING_LABEL.sub("", text.strip(), count=1)
    match = _CONTINUATION.search(text)
    if match:
        text = text[: match.start()]
    text = text.strip()
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        inner = text[1:-1]
        if text[0] not in inner and text[-1] not in inner:  # not '"a" and "b"'
            text = inner.strip()
    return text


def word_diff(raw: str, corrected: str) -> list[dict[str, str]]:
    """Every opcode turning ``raw``'s words into ``corrected``'s (punctuation stays on words).

    Each item is ``{"op": "equal"|"replace"|"insert"|"delete", "raw": ..., "corrected": ...}``
    with the words of each side joined by spaces; a replacement of as many words as it
    replaces is one item per word, so a reader sees which word became which.
    """
    a, b = raw.split(), corrected.split()
    # rapidfuzz aligns the word lists in O(n*m/64) with a bit-parallel Levenshtein:
    # 20,000 repeated words diff in milliseconds (difflib without autojunk is quadratic)
    steps: list[dict[str, str]] = []
    for op in Levenshtein.opcodes(a, b):
        old, new = a[op.src_start : op.src_end], b[op.dest_start : op.dest_end]
        if op.tag == "replace" and len(old) == len(new):
            pairs = zip(old, new, strict=True)
            steps += [{"op": "replace", "raw": x, "corrected": y} for x, y in pairs]
        else:
            steps.append({"op": op.tag, "raw": " ".join(old), "corrected": " ".join(new)})
    return steps


@dataclass
class Correction:
    """The outcome of one correction; ``raw`` is always the input, untouched.

    ``model`` and ``route`` name who answered, and are None when no answer
    came back (no model, an error, a timeout). ``reason_code`` is the kind of
    ``reason`` from a fixed set (None when not degraded).
    """

    raw: str
    corrected: str
    degraded: bool
    reason: str | None
    language: str
    model: str | None = None
    route: str | None = None
    changes: list[dict[str, str]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    reason_code: DegradedReason | None = None


def accepted(correction: Correction) -> bool:
    """Whether ``correction`` can serve as context: not degraded, and not of blank text."""
    return not correction.degraded and bool(correction.raw.strip())


class TranscriptCorrector:
    """Runs the correction prompt through an awaited ``generate`` and guards the answer."""

    def __init__(
        self,
        guard: CorrectionGuard | None = None,
        max_tokens_cap: int = 2048,
        policy: MergePolicy | None = None,
    ) -> None:
        self.guard = guard or CorrectionGuard()
        self.max_tokens_cap = max_tokens_cap
        # with the lexicon guarding real words, a looser spelling match is safe
        self.policy = policy or MergePolicy(min_similarity=0.5)

    def request(
        self,
        text: str,
        language: str,
        context: Sequence[Correction] = (),
        latency: Latency = Latency.NORMAL,
    ) -> tuple[list[ChatMessage], GenerationOptions]:
        """The messages and options for correcting ``text`` (already resolved to "ru"/"en").

        ``context``: corrections of the text just before ``text`` (a live
        stream's earlier segments), in order; the accepted ones follow the
        worked examples as more turns, so the model sees what ``text`` goes
        on from. A context that only ever grows at its end keeps each prompt
        a continuation of the one before, which the model's cache holds.
        """
        words = len(text.split())
        options = GenerationOptions(
            max_tokens=min(4 * words + 16, self.max_tokens_cap),
            temperature=0.0,
            top_p=1.0,
            stop=STOP_SEQUENCES,
            latency=latency,
        )
        turns = list(EXAMPLES[language])
        turns += [(c.raw.strip(), c.corrected) for c in context if accepted(c)]
        messages: list[ChatMessage] = []
        for example, answer in turns:
            messages.append(ChatMessage("user", build_prompt(example, language)))
            messages.append(ChatMessage("assistant", answer))
        messages.append(ChatMessage("user", build_prompt(text, language)))
        return messages, options

    async def correct(
        self,
        text: str,
        language: str,
        generate: Generate | None,
        timeout_s: float,
        context: Sequence[Correction] = (),
        latency: Latency = Latency.NORMAL,
    ) -> Correction:
        """Correct ``text``; never raises for a model failure, it degrades instead.

        ``context`` and ``latency``: as for ``request``.
        """
        started = time.perf_counter()
        lang = await asyncio.to_thread(prompt_language, language, text)
        stripped = text.strip()
        result: GenerationResult | None = None
        corrected = text
        rejection: tuple[DegradedReason, str] | None = None
        # whitespace needs no model: it comes back as it is, not degraded
        if stripped and generate is None:
            rejection = DegradedReason.NO_MODEL, "no language model is loaded"
        elif stripped and generate is not None:
            messages, options = self.request(stripped, lang, context, latency)
            try:
                result = await asyncio.wait_for(generate(messages, options), timeout_s)
            except TimeoutError:
                rejection = DegradedReason.TIMEOUT, f"correction timed out after {timeout_s:g} s"
            except Exception as exc:
                failed = f"the language model failed: {type(exc).__name__}: {exc}"
                rejection = DegradedReason.MODEL_ERROR, failed
            else:
                # the edit distance is O(n*m): keep it off the event loop
                corrected, rejection = await asyncio.to_thread(self._judge, stripped, result, lang)
        if rejection is not None:
            corrected = text
        # the diff grows with the text: off the event loop too
        changes = await asyncio.to_thread(word_diff, text, corrected) if stripped else []
        return Correction(
            raw=text,
            corrected=corrected,
            degraded=rejection is not None,
            reason=rejection[1] if rejection is not None else None,
            reason_code=rejection[0] if rejection is not None else None,
            language=lang,
            model=result.model if result else None,
            route=result.route if result else None,
            changes=changes,
            timings={"total_ms": (time.perf_counter() - started) * 1000},
        )

    def _judge(
        self, raw: str, result: GenerationResult, language: str
    ) -> tuple[str, tuple[DegradedReason, str] | None]:
        """The merged answer and why it is rejected (None when accepted).

        An accepted answer goes through ``merge_correction`` (only small word
        fixes, the model's punctuation and casing) and ``finish_sentence``.
        """
        if result.finish_reason == "cancelled":
            return raw, (DegradedReason.CANCELLED, "the correction was cancelled")
        candidate = clean_output(result.text)
        rejection = self.guard.judge(raw, candidate)
        finished = result.finish_reason == "stop" or _CONTINUATION.search(result.text)
        if rejection is None and not finished:
            rejection = (
                DegradedReason.CUT_OFF,
                (
                    f"the answer was cut off at {result.usage.completion_tokens} tokens "
                    "before the text ended"
                ),
            )
        if rejection is not None:
            return raw, rejection
        merged = merge_correction(raw, candidate, self.policy, wordfreq_lexicon(language))
        return finish_sentence(merged), None
