"""Neira in Jupyter's chat in a real JupyterLab: a notebook defines ``df``; asked in the chat
"what columns does df have?", Neira streams an answer from the demo model that names both
columns; the chat's stop button ends a long answer and the engine counts it cancelled; a cell
that raises gets "Explain / fix", whose answer has code the chat inserts below the cell; in the
light and the dark theme. The chat input's microphone fills the input with the corrected
text of an English and a Russian clip.

A real ``jupyter lab`` with this checkout's extensions (jupyterlab-chat and the persona
manager come with the package); ``chat.mjs`` drives headless Chromium; screenshots go to
``test-artifacts/lab-chat-{light,dark}-{answered,stopped,explained}.png``.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import jiwer
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.browser.support import (
    THEMES,
    Server,
    code_cell,
    notebook,
    padded_clip,
    page_options,
    run_page_script,
)
from tests.support.audio_fixtures import SENTENCES
from tests.support.correction_eval import clip_path
from tests.support.helpers import words

pytestmark = [pytest.mark.browser, pytest.mark.model]

QUESTION = "what columns does df have?"
FAILING = 'df["gamma"].sum()'
LONG = "Write a long story about a cat who learns Python, in many paragraphs."


def cancelled_generations(server: Server) -> float:
    """``neira_generations_total{finish_reason="cancelled"}`` of the server, all models."""
    request = urllib.request.Request(
        server.url + "metrics", headers={"Authorization": f"token {server.token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "neira_generations_total"
        and sample.labels.get("finish_reason") == "cancelled"
    )


@pytest.mark.parametrize("theme", THEMES)
def test_chat_answers_about_df_and_stop_cancels(lab: Server, theme: str) -> None:
    name = f"chat-{theme}.ipynb"
    source = ("import pandas as pd", 'df = pd.DataFrame({"alpha": [1, 2, 3], "beta": [4, 5, 6]})')
    (lab.root / name).write_text(notebook(code_cell("c1", *source)))
    options = page_options(lab, name, theme, question=QUESTION, long=LONG, failing=FAILING)
    cancelled = cancelled_generations(lab)
    seen = run_page_script("chat.mjs", options)
    answer, _, used = seen["answer"].rpartition("used:")
    assert "alpha" in answer and "beta" in answer, seen
    assert "df" in used, seen  # it says it read the kernel's df
    assert len(seen["lengths"]) >= 3, seen  # the answer grew while it streamed
    assert seen["snapshots"] >= 1, seen
    # the default side-panel width shows the persona picker whole beside the microphone
    assert seen["panel"]["microphone"] and seen["panel"]["personaWhole"], seen
    assert "(stopped)" in seen["stopped"], seen
    assert cancelled_generations(lab) == cancelled + 1
    # "Explain / fix" under the KeyError asks about it; the answer has code that is inserted
    assert "KeyError" in seen["question"] and "cell 2" in seen["question"], seen
    assert "the last error" in seen["fixed"].rpartition("used:")[2], seen
    assert seen["fixedCode"].strip(), seen
    assert seen["inserted"].strip() == seen["fixedCode"].strip().splitlines()[0].strip() or (
        seen["inserted"].strip() in seen["fixedCode"]
    ), seen


@pytest.mark.parametrize(("lang", "theme"), [("en", "light"), ("ru", "dark")])
def test_the_chat_microphone_fills_the_input(
    lab: Server, tmp_path: Path, lang: str, theme: str
) -> None:
    """The fake microphone plays an English (espeak-ng) or Russian (festival) clip; partials
    show in the chat input while it plays, and the corrected text is left there to send."""
    sentence = SENTENCES[lang][1]
    wav, speech_end = padded_clip(tmp_path, clip_path(lang, sentence, tmp_path))
    name = f"mic-{lang}.ipynb"
    (lab.root / name).write_text(notebook(code_cell("c1", "x = 1")))
    options = page_options(lab, name, theme, wav=str(wav), clipSeconds=speech_end + 1.0, tag=lang)
    seen = run_page_script("chat_mic.mjs", options)
    assert seen["labelIdle"] == "Dictate into the chat", seen
    assert seen["labelRecording"] == "Stop dictating", seen
    assert seen["partials"], seen  # text appeared while the clip played
    said, heard = (words(text).replace("ё", "е") for text in (sentence, seen["text"]))
    assert jiwer.wer(said, heard) < 0.5, seen  # festival's Russian is hard for Whisper base
    assert seen["sendEnabled"] is not False, seen
