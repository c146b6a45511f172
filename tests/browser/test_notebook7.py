"""neira in Notebook 7: ``%%neira``, the recorder widget, Dictate and the status item.

A real ``jupyter notebook`` (Notebook 7, the same server extension and this
checkout's lab extension) with the demo models; headless Chromium with the
fake microphone, as in test_browser.py. Notebook 7 has no status bar, so the
extension puts the status item in the top bar beside the notebook's title.
Every flow runs in the light and the dark theme; screenshots go to
``test-artifacts/notebook-{widget,dictate,chat}-{light,dark}-*.png``. Jupyter's chat opens in
Notebook 7's left side panel (jupyterlab-chat supports its shell), and Neira answers there.
"""

from __future__ import annotations

from pathlib import Path

import jiwer
import pytest

from tests.browser.support import (
    ARTIFACTS,
    RECORDER_CELL,
    SENTENCE,
    THEMES,
    Server,
    code_cell,
    drive,
    kernel_value,
    notebook,
    padded_clip,
    page_options,
    run_page_script,
    type_and_accept,
)
from tests.browser.themes import assert_focus_ring, assert_status_item, assert_surface
from tests.support.helpers import words

pytestmark = [pytest.mark.browser, pytest.mark.model]

ASK = code_cell(
    "ask",
    "%%neira --out answer --max-tokens 16 --temperature 0",
    "Name one colour of the rainbow.",
)


@pytest.mark.parametrize("theme", THEMES)
def test_neira_magic_and_recorder_widget_in_notebook7(
    nb7: Server, tmp_path: Path, theme: str
) -> None:
    wav, speech_end = padded_clip(tmp_path)
    name = f"nb7-recorder-{theme}.ipynb"
    load = code_cell("load", "%load_ext neira_jupyter")
    (nb7.root / name).write_text(notebook(load, ASK, RECORDER_CELL))
    seen = drive(nb7, "widget", name, wav, speech_end + 1.0, theme)
    # %%neira streamed an answer into its cell, from the model the server routes to
    answer = kernel_value(nb7, name, '{"text": answer.text, "model": answer.model}')
    assert answer["text"].strip(), answer
    assert answer["model"] == nb7.get("neira/api/status")["route"]["model"], answer
    assert answer["text"].strip()[:10] in seen["cellOutputs"][1], seen["cellOutputs"]
    # the recorder: partials while recording, the transcript in the page and the kernel
    assert seen["partialBeforeStop"] and seen["stateAtPartial"] == "recording", seen
    assert seen["state"] == "done", seen
    assert jiwer.wer(words(SENTENCE), words(seen["text"])) < 0.35, seen
    assert kernel_value(nb7, name, "rec.value") == seen["text"]
    assert_focus_ring(seen["focus"])
    assert seen["markupShownAsText"], seen  # transcript text never becomes HTML
    assert seen["meterRole"] == "meter" and seen["meterMax"] > 10, seen
    for report in (seen["stylesIdle"], seen["stylesRecording"]):
        assert_surface(report, "recorder", theme)
        assert_status_item(report, theme)  # the status item is in Notebook 7's top bar
    for shot in ("speaking", "recording", "final"):
        assert (ARTIFACTS / f"notebook-widget-{theme}-{shot}.png").is_file()


@pytest.mark.parametrize("theme", THEMES)
def test_dictate_and_status_panel_in_notebook7(nb7: Server, tmp_path: Path, theme: str) -> None:
    wav, speech_end = padded_clip(tmp_path)
    name = f"nb7-dictate-{theme}.ipynb"
    (nb7.root / name).write_text(notebook(code_cell("target", "")))
    seen = drive(nb7, "dictate", name, wav, speech_end + 1.0, theme)
    assert seen["buttonFound"], seen
    assert seen["state"] == "done", seen
    assert jiwer.wer(words(SENTENCE), words(seen["cellText"])) < 0.35, seen
    assert_surface(seen["stylesRecording"], "indicator", theme)
    assert_status_item(seen["stylesRecording"], theme)
    status = nb7.get("neira/api/status")
    assert f"({status['memory']['level']})" in seen["statusText"], seen
    assert status["route"]["model"] in seen["panelText"], seen
    for shot in ("speaking", "recording", "inserted", "status-panel"):
        assert (ARTIFACTS / f"notebook-dictate-{theme}-{shot}.png").is_file()


def test_inline_completion_in_notebook7(nb7: Server) -> None:
    """Notebook 7 runs the same inline completer: the demo model's suggestion, Tab takes it."""
    name = "nb7-complete.ipynb"
    (nb7.root / name).write_text(notebook(code_cell("c1", "import numpy as np"), code_cell("c2")))
    seen = type_and_accept(nb7, name, "light", name="notebook-complete-light")
    assert seen["ghost"].strip() == "a + b", seen
    assert seen["source"] == "def add(a, b):\n    return a + b", seen


@pytest.mark.parametrize("theme", THEMES)
def test_chat_answers_about_df_in_notebook7(nb7: Server, theme: str) -> None:
    """Jupyter's chat in Notebook 7's side panel: Neira answers "what columns does df have?"
    from the demo model, naming both columns and saying it read df."""
    name = f"nb7-chat-{theme}.ipynb"
    source = ("import pandas as pd", 'df = pd.DataFrame({"alpha": [1, 2, 3], "beta": [4, 5, 6]})')
    (nb7.root / name).write_text(notebook(code_cell("c1", *source)))
    options = page_options(nb7, name, theme, app="notebook", answerOnly=True,
                           question="what columns does df have?")  # fmt: skip
    seen = run_page_script("chat.mjs", options)
    answer, _, used = seen["answer"].rpartition("used:")
    assert "alpha" in answer and "beta" in answer, seen
    assert "df" in used, seen
    assert len(seen["lengths"]) >= 3, seen  # it streamed
    panel = seen["panel"]
    assert panel["visible"] and panel["persona"] == "Neira" and panel["microphone"], seen
    assert panel["personaWhole"], seen  # the picker's name and arrow beside the microphone
    assert (ARTIFACTS / f"notebook-chat-{theme}-answered.png").is_file()
