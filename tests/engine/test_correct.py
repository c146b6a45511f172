"""The correction pipeline: prompt, guard, cleaning, diff, and every degraded path.

The degraded paths use small async ``generate`` callables (the corrector's only
dependency); the last tests run the real demo model (Qwen2.5-Coder-0.5B-Instruct).
The word-level guard itself is tested in ``test_correct_merge.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from neira_jupyter.engine import models
from neira_jupyter.engine.correct import (
    EXAMPLES,
    PROMPTS,
    STOP_SEQUENCES,
    Correction,
    CorrectionGuard,
    Generate,
    TranscriptCorrector,
    build_prompt,
    clean_output,
    edit_distance,
    normalised_distance,
    prompt_language,
    word_diff,
)
from neira_jupyter.engine.llm import LlamaModel, LLMSpec
from neira_jupyter.engine.types import (
    ChatMessage,
    FinishReason,
    GenerationOptions,
    GenerationResult,
    Usage,
)
from tests.conftest import loads_model

RAW = "the quick roundfire stump over the lazy dog"
FIXED = "The quick brown fox jumps over the lazy dog."
# What the word-level guard keeps of FIXED: the far substitution is not taken.
GUARDED = "The quick roundfire stump over the lazy dog."
# What Gemma 270M (a base model, the former demo) really answered to the English prompt.
ECHO = (
    "You are an assistant that fixes speech recognition errors. Fix the errors, "
    "add punctuation and improve the readability of the following text:"
)


Calls = list[tuple[list[ChatMessage], GenerationOptions]]


def answering(
    text: str, finish_reason: FinishReason = "stop", calls: Calls | None = None
) -> Generate:
    """A ``generate`` that answers ``text`` (and records what it was asked)."""

    async def generate(messages: list[ChatMessage], options: GenerationOptions) -> GenerationResult:
        if calls is not None:
            calls.append((messages, options))
        return GenerationResult(
            text=text, model="scripted", finish_reason=finish_reason, usage=Usage(10, 7)
        )

    return generate


def correct(
    text: str, generate: Generate | None, language: str = "auto", timeout_s: float = 5.0
) -> Correction:
    return asyncio.run(TranscriptCorrector().correct(text, language, generate, timeout_s))


# -- prompt ---------------------------------------------------------------------------


def test_the_seed_prompts() -> None:
    assert build_prompt("привет мир", "ru") == (
        "Ты - помощник, который исправляет ошибки распознавания речи. Исправь ошибки, "
        "расставь знаки препинания и улучши читаемость следующего текста:\n\n"
        "Текст: привет мир\n\nИсправленный текст:"
    )
    assert build_prompt("hello {world}", "en") == (
        "You are an assistant that fixes speech recognition errors. Fix the errors, "
        "add punctuation and improve the readability of the following text:\n\n"
        "Text: hello {world}\n\nCorrected text:"
    )
    assert set(PROMPTS) == {"ru", "en"}


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("auto", "завтра утром у нас совещание", "ru"),
        ("auto", "see you tomorrow", "en"),
        ("auto", "открой notebook и запусти все ячейки", "ru"),
        ("auto", "1 2 3", "en"),
        ("ru", "see you tomorrow", "ru"),
        ("en", "завтра", "en"),
        ("de", "привет", "ru"),
    ],
)
def test_prompt_language(language: str, text: str, expected: str) -> None:
    assert prompt_language(language, text) == expected


def test_request_is_greedy_and_bounded() -> None:
    corrector = TranscriptCorrector(max_tokens_cap=40)
    messages, options = corrector.request("one two three", "en")
    (first, first_answer), (second, second_answer) = EXAMPLES["en"]
    assert messages == [
        ChatMessage("user", build_prompt(first, "en")),
        ChatMessage("assistant", first_answer),
        ChatMessage("user", build_prompt(second, "en")),
        ChatMessage("assistant", second_answer),
        ChatMessage("user", build_prompt("one two three", "en")),
    ]
    assert options.temperature == 0.0
    assert options.max_tokens == 4 * 3 + 16
    assert "\n\nТекст:" in options.stop
    assert "\n\nText:" in options.stop
    _, options = corrector.request("word " * 100, "en")
    assert options.max_tokens == 40


# -- guard ----------------------------------------------------------------------------


def test_edit_distance() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    assert edit_distance("ёж", "еж") == 1
    assert normalised_distance("Hello, World!", "hello world") == 0.0
    assert normalised_distance("abc", "xyz") == 1.0


def test_guard_accepts_a_real_correction() -> None:
    assert CorrectionGuard().check(RAW, FIXED) is None
    assert CorrectionGuard().check("привет как дела", "Привет! Как дела?") is None


@pytest.mark.parametrize(
    ("candidate", "reason"),
    [
        ("  \n", "the model returned an empty answer"),
        (ECHO, "the model echoed the prompt"),
        ("Исправленный текст: завтра утром", "the model echoed the prompt"),
        ("I cannot help with that request, sorry friend.", "differs too much"),
        (FIXED + " The dog was not amused. " * 3, "times as long as the text (the limit is 2)"),
        ("The quick dog.", "times as long as the text (at least 0.5 is expected)"),
    ],
    ids=["empty", "echo", "echo-label", "unrelated", "runaway", "truncated"],
)
def test_guard_rejects(candidate: str, reason: str) -> None:
    rejection = CorrectionGuard().check(RAW, candidate)
    assert rejection is not None
    assert reason in rejection


def test_guard_allows_prompt_words_the_speaker_said() -> None:
    raw = "the corrected text: is in the appendix"
    assert CorrectionGuard().check(raw, "The corrected text: is in the appendix.") is None


def test_guard_thresholds_are_configurable() -> None:
    strict = CorrectionGuard(max_distance=0.05)
    rejection = strict.check(RAW, FIXED)
    assert rejection is not None and "the limit is 0.05" in rejection


# -- cleaning and diff ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "cleaned"),
    [
        ('  "Hello world."  ', "Hello world."),
        ("«Привет, мир.»", "Привет, мир."),
        ("Исправленный текст: Привет.", "Привет."),
        ('Corrected text: "Hi there."', "Hi there."),
        ("Hello.\n\nText: more of the pattern\n\nCorrected text: More.", "Hello."),
        ("Привет.\n \nТекст: ещё\n\nИсправленный текст: Ещё.", "Привет."),
        ('"a" and "b"', '"a" and "b"'),
        ("Line one.\nLine two.", "Line one.\nLine two."),
    ],
)
def test_clean_output(output: str, cleaned: str) -> None:
    assert clean_output(output) == cleaned


def test_word_diff() -> None:
    changes = word_diff("helo world how are you", "Hello world, how are you?")
    assert changes == [
        {"op": "replace", "raw": "helo", "corrected": "Hello"},
        {"op": "replace", "raw": "world", "corrected": "world,"},
        {"op": "equal", "raw": "how are", "corrected": "how are"},
        {"op": "replace", "raw": "you", "corrected": "you?"},
    ]
    assert word_diff("a b c", "a c") == [
        {"op": "equal", "raw": "a", "corrected": "a"},
        {"op": "delete", "raw": "b", "corrected": ""},
        {"op": "equal", "raw": "c", "corrected": "c"},
    ]
    assert [c["op"] for c in word_diff("a c", "a b c")] == ["equal", "insert", "equal"]


# -- the corrector --------------------------------------------------------------------


def test_correction_is_used_when_the_guard_accepts_it() -> None:
    calls: Calls = []
    result = correct(RAW, answering(f'"{FIXED}"', calls=calls), language="en")
    assert not result.degraded
    assert result.reason is None
    assert result.raw == RAW
    assert result.corrected == GUARDED
    assert result.model == "scripted"
    assert result.route == "primary"
    assert result.language == "en"
    assert {c["op"] for c in result.changes} >= {"replace", "equal"}
    messages, options = calls[0]
    assert messages[-1] == ChatMessage("user", build_prompt(RAW, "en"))
    assert options.stop == STOP_SEQUENCES
    assert result.timings["total_ms"] > 0


def test_no_model() -> None:
    result = correct(RAW, None)
    assert result.degraded
    assert result.reason == "no language model is loaded"
    assert result.corrected == result.raw == RAW
    assert result.model is None
    assert result.changes == [{"op": "equal", "raw": RAW, "corrected": RAW}]


def test_model_error() -> None:
    async def failing(messages: list[ChatMessage], options: GenerationOptions) -> GenerationResult:
        raise RuntimeError("llama_decode returned -3")

    result = correct(RAW, failing)
    assert result.degraded
    assert result.reason == "the language model failed: RuntimeError: llama_decode returned -3"
    assert result.corrected == RAW


def test_timeout_cancels_the_generation() -> None:
    cancelled: list[bool] = []

    async def slow(messages: list[ChatMessage], options: GenerationOptions) -> GenerationResult:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        raise AssertionError("not reached")

    result = correct(RAW, slow, timeout_s=0.05)
    assert result.degraded
    assert result.reason == "correction timed out after 0.05 s"
    assert result.corrected == RAW
    assert cancelled == [True]


def test_guard_rejection_degrades() -> None:
    result = correct(RAW, answering(ECHO))
    assert result.degraded
    assert result.reason is not None and "echoed the prompt" in result.reason
    assert result.corrected == RAW
    assert result.model == "scripted"


def test_cut_off_answer_degrades() -> None:
    result = correct(RAW, answering("The quick brown fox jumps over the lazy", "length"))
    assert result.degraded
    assert result.reason == "the answer was cut off at 7 tokens before the text ended"
    assert result.corrected == RAW


def test_cut_off_after_a_continuation_is_fine() -> None:
    answer = FIXED + "\n\nText: the model went on with another example"
    result = correct(RAW, answering(answer, "length"))
    assert not result.degraded
    assert result.corrected == GUARDED


def test_non_words_are_fixed_real_words_are_kept() -> None:
    raw = "please sent the reprot to my manager before friday"
    answer = "Please send the report to my manager before Friday."
    result = correct(raw, answering(answer))
    assert not result.degraded
    # "reprot" is no word: fixed; "sent" is a word: the model cannot know it was misheard
    assert result.corrected == "Please sent the report to my manager before Friday."
    ru = correct("откройте файпл с данными", answering("Откройте файл с данными."))
    assert ru.corrected == "Откройте файл с данными."


def test_an_answer_without_punctuation_gets_a_sentence_shape() -> None:
    result = correct("see you tomorrow", answering("see you tomorrow"))
    assert (result.degraded, result.corrected) == (False, "See you tomorrow.")


@pytest.mark.parametrize("text", ["", "  \n "])
def test_empty_text_needs_no_model(text: str) -> None:
    calls: Calls = []
    result = correct(text, answering("never asked", calls=calls))
    assert not result.degraded
    assert result.corrected == result.raw == text
    assert result.changes == []
    assert calls == []


# -- the real demo model --------------------------------------------------------------


@pytest.fixture(scope="session")
@loads_model
def demo_llm() -> Iterator[LlamaModel]:
    path = models.demo_llm_path()  # the demo extra is part of the test setup
    assert path is not None
    model = LlamaModel(LLMSpec(name=models.DEMO_LLM_NAME, path=path, n_ctx=1024, n_threads=2))
    model.load()
    yield model
    model.close()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("please send the report to my manager before friday", "en"),
        ("завтра утром у нас совещание а потом обед", "auto"),
    ],
)
def test_real_model_punctuates_without_changing_the_words(
    demo_llm: LlamaModel, text: str, language: str
) -> None:
    async def generate(messages: list[ChatMessage], options: GenerationOptions) -> GenerationResult:
        def run() -> GenerationResult:
            *_, result = demo_llm.generate(messages, options)
            assert isinstance(result, GenerationResult)
            return result

        return await asyncio.to_thread(run)

    result = correct(text, generate, language=language, timeout_s=120)
    assert result.raw == text
    assert not result.degraded, result.reason
    assert result.model == models.DEMO_LLM_NAME
    assert result.language == ("en" if language == "en" else "ru")
    assert result.corrected[0].isupper() and result.corrected[-1] in ".!?"
    assert normalised_distance(text, result.corrected) == 0.0  # the words were right
