"""Neira's prompt (``context.prompt``): the context's order and budget, the switches, the
language, and the line that says what an answer used."""

from __future__ import annotations

import re
from pathlib import Path

from neira_jupyter.context.prompt import (
    ANSWER_TOKENS,
    FIX_QUESTION,
    Sources,
    ask,
    build_context,
    fix_question,
    language,
    nearest_first,
    system_prompt,
    used_line,
)
from neira_jupyter.context.snapshot import NotebookSnapshot
from neira_jupyter.context.variables import KernelVariables
from neira_jupyter.protocol import ChatMessage

REPO = Path(__file__).resolve().parents[2]

SNAPSHOT = NotebookSnapshot.model_validate({
    "path": "work.ipynb", "active": 2, "selection": "df.alpha",
    "cells": [{"source": f"cell_{i} = {i}", "outputs": "x" * 3000 if i == 1 else ""}
              for i in range(6)],
    "error": {"cell": 2, "ename": "KeyError", "evalue": "'gamma'", "traceback": "Traceback..."},
})  # fmt: skip
VARIABLES = KernelVariables(lines=["df: pandas.DataFrame, shape (3, 2)"], names=["df"])


def test_everything_fits_in_a_large_budget_most_useful_first() -> None:
    context = build_context(SNAPSHOT, VARIABLES, 20_000, Sources())
    text = context.text
    assert context.used == ["6 cells", "the selection", "the last error", "df"]
    marks = ("df.alpha", "KeyError", "cell_2 = 2", "df: pandas", "cell_1 = 1", "cell_3 = 3",
             "cell_0 = 0", "cell_5 = 5")  # fmt: skip
    order = [text.index(m) for m in marks]
    assert order == sorted(order)
    assert "x" * 400 not in text  # a long output is trimmed in the middle
    assert len(text) <= 20_000


def test_a_small_budget_keeps_the_nearest_and_stays_within_it() -> None:
    context = build_context(SNAPSHOT, VARIABLES, 400, Sources())
    assert len(context.text) <= 400
    assert "KeyError" in context.text and "cell_5 = 5" not in context.text


def test_each_source_can_be_turned_off() -> None:
    off = Sources(cells=False, selection=False, error=False, variables=False)
    assert build_context(SNAPSHOT, VARIABLES, 20_000, off).used == []
    only_cells = build_context(SNAPSHOT, VARIABLES, 20_000, Sources(True, False, False, False))
    assert only_cells.used == ["6 cells"]
    assert "KeyError" not in only_cells.text and "df.alpha" not in only_cells.text


def test_nearest_first() -> None:
    assert nearest_first(2, 6) == [1, 3, 0, 4, 5]
    assert nearest_first(0, 1) == []


def test_language_and_what_was_used() -> None:
    assert language("Какие столбцы есть в df?") == "ru"
    assert language("what columns does df have?") == "en"
    context = build_context(SNAPSHOT, VARIABLES, 20_000, Sources())
    assert "Answer in Russian" in system_prompt(context, "ru", "work.ipynb")
    assert "work.ipynb" in system_prompt(context, "en", "work.ipynb")
    busy = KernelVariables(note="the kernel is busy; variables were not read")
    line = used_line(build_context(None, busy, 1000, Sources()), busy, "en")
    assert line.endswith("*used: nothing (the kernel is busy; variables were not read)*")


def test_explain_fix_in_the_lab_asks_the_fix_question() -> None:
    """The lab's Explain / fix button and ``%neira fix`` ask in the same words."""
    source = (REPO / "labextension" / "src" / "explainError.ts").read_text(encoding="utf-8")
    (template,) = re.findall(r"input: `([^`]*)`", source)
    assert template.replace("${index + 1}", "{cell}").replace("${what}", "{error}") == FIX_QUESTION
    assert "`${error.ename ?? 'Error'}: ${error.evalue ?? ''}`.slice(0, 300)" in source
    long = fix_question(3, "", "x" * 400)
    assert long.startswith("Explain the error in cell 3 (Error: xxx") and "x" * 299 not in long


def test_ask_fits_the_window_with_the_conversation_and_states_what_it_used() -> None:
    history = [ChatMessage(role="user", content="earlier " * 100)]
    wide = ask("What is wrong?", SNAPSHOT, VARIABLES, window_tokens=8192)
    narrow = ask("What is wrong?", SNAPSHOT, VARIABLES, window_tokens=1200, history=history)
    assert wide.context.used == ["6 cells", "the selection", "the last error", "df"]
    assert len(narrow.context.text) <= (1200 - ANSWER_TOKENS - 350) * 3 - 800 - 14
    assert narrow.request.messages == [*history, ChatMessage(role="user", content="What is wrong?")]
    assert narrow.request.max_tokens == ANSWER_TOKENS and "The notebook is work.ipynb" in (
        narrow.request.system or ""
    )
    assert wide.footer == "\n\n---\n*used: 6 cells, the selection, the last error, df*"
    numbered = SNAPSHOT.model_copy(update={"first": 40})
    assert "The last error, in cell 42:" in (ask("?", numbered, None).request.system or "")
