"""The recording widget, the Dictate button and the status item in a real JupyterLab.

A real ``jupyter lab`` (fixed token, ``expose_app_in_browser``, the neira
server extension, this checkout's lab extension) runs with the demo models;
headless Chromium from Debian, driven by ``playwright-core`` (``drive.mjs``),
plays an espeak-ng WAV of a known sentence as its microphone. Every flow runs
in the light and the dark theme; screenshots go to ``test-artifacts/``
(``lab-{widget,dictate}-{light,dark}-*.png``).

Needs ``scripts/setup_browser.sh`` (Chromium, ``npm install`` here). Outside
CI the tests skip when that is missing; with ``CI`` set they fail instead.
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
)
from tests.browser.themes import (
    assert_focus_ring,
    assert_status_item,
    assert_surface,
    assert_theme,
)
from tests.support.helpers import words

pytestmark = [pytest.mark.browser, pytest.mark.model]


@pytest.mark.parametrize("theme", THEMES)
def test_recorder_widget_streams_partials_and_delivers_the_result(
    lab: Server, tmp_path: Path, theme: str
) -> None:
    wav, speech_end = padded_clip(tmp_path)
    name = f"recorder-{theme}.ipynb"
    (lab.root / name).write_text(notebook(RECORDER_CELL))
    seen = drive(lab, "widget", name, wav, speech_end + 1.0, theme)
    assert seen["partialBeforeStop"], seen
    assert seen["stateAtPartial"] == "recording"
    assert seen["state"] == "done", seen
    assert jiwer.wer(words(SENTENCE), words(seen["text"])) < 0.35, seen
    kernel = kernel_value(lab, name, '{"value": rec.value, "raw": rec.raw, "status": rec.status}')
    assert kernel["value"] == seen["text"]
    assert kernel["raw"] == seen["raw"]
    assert kernel["status"] == "done"
    # keyboard: Tab focuses the labelled record button; Enter starts and Space stops (light)
    assert_focus_ring(seen["focus"])
    assert seen["markupShownAsText"], seen  # transcript text never becomes HTML
    assert seen["buttonLabel"] == "Start recording"
    assert (seen["buttonLabelRecording"], seen["buttonPressed"]) == ("Stop recording", "true")
    assert seen["focusStayed"], seen
    # the level meter is a meter that moved with the speech
    assert seen["meterRole"] == "meter" and seen["meterMax"] > 10, seen
    # theme: the widget is drawn with the theme's colours, the button with its brand colour
    for report in (seen["stylesIdle"], seen["stylesRecording"]):
        assert_surface(report, "recorder", theme)
        assert_status_item(report, theme)
    idle = seen["stylesIdle"]
    assert idle["elements"]["recordButton"]["background"] == idle["vars"]["brand-color1"]
    recording = seen["stylesRecording"]
    assert recording["elements"]["recordButton"]["background"] == recording["vars"]["error-color1"]
    assert recording["elements"]["clock"]["color"] == recording["vars"]["error-color1"]
    for shot in ("speaking", "recording", "final"):
        assert (ARTIFACTS / f"lab-widget-{theme}-{shot}.png").is_file()


@pytest.mark.parametrize("theme", THEMES)
def test_dictate_button_inserts_text_and_the_status_panel_opens(
    lab: Server, tmp_path: Path, theme: str
) -> None:
    wav, speech_end = padded_clip(tmp_path)
    name = f"dictate-{theme}.ipynb"
    (lab.root / name).write_text(notebook(code_cell("target", "")))
    seen = drive(lab, "dictate", name, wav, speech_end + 1.0, theme)
    assert seen["state"] == "done", seen
    assert jiwer.wer(words(SENTENCE), words(seen["cellText"])) < 0.35, seen
    assert seen["meterRole"] == "meter" and seen["meterMax"] > 10, seen
    assert_surface(seen["stylesRecording"], "indicator", theme)
    assert_status_item(seen["stylesRecording"], theme)
    # the status item is a button showing memory; its panel shows the models and switches
    status = lab.get("neira/api/status")
    assert seen["statusTag"] == "BUTTON", seen
    assert f"({status['memory']['level']})" in seen["statusText"], seen
    assert "free" in seen["statusText"] and "?" not in seen["statusText"], seen
    assert seen["panelOpenedWith"] == ("Enter" if theme == "dark" else "click")
    assert status["route"]["model"] in seen["panelText"], seen
    for model in status["models"]:
        assert model["name"] in seen["panelText"], (model, seen["panelText"])
    assert seen["panelHeadings"] == [
        "Route",
        "Models",
        "Memory",
        "Queue",
        "Recent route switches",
        "Server",
    ]
    panel = seen["stylesPanel"]
    assert_theme(panel, theme)
    assert panel["elements"]["panel"]["color"] == panel["vars"]["ui-font-color1"], panel
    for shot in ("speaking", "recording", "inserted", "status-panel"):
        assert (ARTIFACTS / f"lab-dictate-{theme}-{shot}.png").is_file()
