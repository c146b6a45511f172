"""The word-level guard: which of a model's edits reach the corrected transcript."""

from __future__ import annotations

import pytest

from neira_jupyter.engine.correct import word_diff
from neira_jupyter.engine.correct_merge import (
    MergePolicy,
    finish_sentence,
    merge_correction,
    word_key,
    wordfreq_lexicon,
)


@pytest.mark.parametrize(
    ("raw", "candidate", "merged"),
    [
        # casing and punctuation of kept words come from the model
        ("привет как дела", "Привет, как дела?", "Привет, как дела?"),
        # a fixed case ending is close to what was heard: taken
        ("мы купили свежий овощи", "Мы купили свежие овощи.", "Мы купили свежие овощи."),
        # a joined word with the same letters: taken
        ("мой по мощник пришёл", "Мой помощник пришёл.", "Мой помощник пришёл."),
        # a different word is not what was heard: the raw word stays, styled
        ("the cat sat on the mat", "The dog sat on the mat.", "The cat sat on the mat."),
        # inserted and deleted words are ignored
        ("open the file", "Please open the new file.", "open the file."),
        ("open the the file", "Open the file.", "Open the the file."),
        # ё and е are the same word to the ear
        ("ещё раз", "Еще раз.", "Еще раз."),
    ],
    ids=["style", "ending", "joined", "far", "insert", "delete", "yo"],
)
def test_merge(raw: str, candidate: str, merged: str) -> None:
    assert merge_correction(raw, candidate) == merged


def test_a_rewrite_keeps_only_style() -> None:
    raw = "one two three four five six"
    candidate = "One, too, tree, four, fife, six."
    strict = MergePolicy(max_changed_share=0.2)
    assert merge_correction(raw, candidate, strict) == "One, two, three, four, five, six."
    assert merge_correction(raw, candidate) == "One, two, tree, four, fife, six."
    lenient = MergePolicy(min_similarity=0.5, max_changed_share=1.0)
    assert merge_correction(raw, candidate, lenient) == "One, too, tree, four, fife, six."


def test_with_a_lexicon_only_non_words_are_replaced() -> None:
    ru = wordfreq_lexicon("ru")
    assert ru is not None and ru("директором") > 2 and ru("файпл") == 0
    raw = "откроете файпл с директором"
    candidate = "Откройте файл с директора."
    every = MergePolicy(max_changed_share=1.0)
    assert merge_correction(raw, candidate, every) == "Откройте файл с директора."
    assert merge_correction(raw, candidate, every, ru) == "Откроете файл с директором."


def test_punctuation_tokens_stay_with_their_word() -> None:
    assert merge_correction("a b c", "A - b, c.") == "A - b, c."
    assert merge_correction("", "Hello.") == ""
    assert merge_correction("hello", "") == "hello"


@pytest.mark.parametrize(
    ("text", "finished"),
    [
        ("see you tomorrow", "See you tomorrow."),
        ("«привет»", "«Привет»."),
        ("Done!", "Done!"),
        ("(ok)", "(Ok)."),
        ("...", "..."),
        ("", ""),
    ],
)
def test_finish_sentence(text: str, finished: str) -> None:
    assert finish_sentence(text) == finished


def test_word_key() -> None:
    assert word_key("Ёлка,") == "елка"
    assert word_key("«Don't»") == "dont"
    assert word_key("—") == ""


def test_word_diff_of_many_repeated_words() -> None:
    raw = " ".join(["yes"] * 20_000)
    corrected = " ".join(["yes"] * 10_000 + ["no"] + ["yes"] * 9_999)
    changes = word_diff(raw, corrected)
    assert [c["op"] for c in changes] == ["equal", "replace", "equal"]
    assert changes[1] == {"op": "replace", "raw": "yes", "corrected": "no"}
