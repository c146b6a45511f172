"""Corrected text grows behind the partials while the user speaks, in a real JupyterLab.

The Recorder widget and the Dictate button, in the light and the dark theme:
headless Chromium (``live.mjs``) plays three espeak-ng sentences with pauses
as its microphone; the first sentences' corrections must be shown while the
recording still runs, and the final text must begin with what was shown
corrected. Screenshots: ``test-artifacts/lab-live-{widget,dictate}-{light,dark}-*.png``.
"""

from __future__ import annotations

import wave
from pathlib import Path

import jiwer
import pytest

from tests.browser.support import (
    ARTIFACTS,
    RECORDER_CELL,
    THEMES,
    Server,
    code_cell,
    notebook,
    page_options,
    run_page_script,
)
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.helpers import words

pytestmark = [pytest.mark.browser, pytest.mark.model]

SPOKEN = SENTENCES["en"][:3]


def dictation_clip(directory: Path) -> tuple[Path, float]:
    """The sentences with 1.2 s pauses, 0.5 s of silence before and 3 s after;
    returns (wav, speech end s)."""
    audio = bytearray(16000)  # 0.5 s of 16 kHz s16le
    for sentence in SPOKEN:
        with wave.open(str(speak(sentence, "en", directory))) as clip:
            assert clip.getframerate() == 16000
            audio += clip.readframes(clip.getnframes())
        audio += bytes(int(1.2 * 16000) * 2)
    speech_end = len(audio) / 32000
    target = directory / "live-microphone.wav"
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(bytes(audio) + bytes(3 * 32000))
    return target, speech_end


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("scenario", ["widget", "dictate"])
def test_corrected_text_grows_while_speaking(
    lab: Server, tmp_path: Path, scenario: str, theme: str
) -> None:
    wav, speech_end = dictation_clip(tmp_path)
    name = f"live-{scenario}-{theme}.ipynb"
    cell = RECORDER_CELL if scenario == "widget" else code_cell("target", "")
    (lab.root / name).write_text(notebook(cell))
    extra = {"scenario": scenario, "wav": str(wav), "clipSeconds": speech_end}
    options = page_options(lab, name, theme, **extra)
    seen = run_page_script("live.mjs", options)
    # a corrected sentence was on screen while the recording still ran
    assert seen["stateAtCorrected"] == "recording", seen
    assert seen["correctedWhileRecording"], seen
    assert seen["shownWhileRecording"].startswith(seen["correctedWhileRecording"]), seen
    assert seen["state"] == "done", seen
    # committed corrections never change: the final begins with what was shown corrected
    assert seen["finalText"].strip().startswith(seen["correctedAtStop"]), seen
    assert jiwer.wer(words(" ".join(SPOKEN)), words(seen["finalText"])) < 0.35, seen
    for shot in ("corrected", "final"):
        assert (ARTIFACTS / f"lab-live-{scenario}-{theme}-{shot}.png").is_file()
