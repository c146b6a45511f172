"""Live partials of ``WS api/transcribe/stream`` with language ``auto`` (the Dictate default).

A real server, the real demo Whisper base, a festival Russian voice and the
espeak-ng English one, PCM sent at real-time pace in 100 ms frames as a
browser's microphone sends it. Partials must arrive while audio is still
coming in -- not only the segment-closing updates after ``stop`` -- and the
final transcript must be right.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from neira_jupyter.engine.speech import LanguageTracker, Transcript
from tests.conftest import Fetch, wait_ready
from tests.support.audio_fixtures import speak
from tests.support.correction_eval import festival
from tests.support.speech_streams import check_stream, pcm_of, stream

SPOKEN = {
    "ru": "Сегодня хорошая погода, поэтому после работы мы пойдём гулять в парк.",
    "en": "Please send the report to my manager before Friday and open the notebook "
    "to run every cell.",
}
"""One segment each (no pause of 0.6 s inside): 5.7 s in festival's Russian voice,
5.0 s in espeak-ng's English one; the demo Whisper base transcribes both well."""


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_auto_language_partials_arrive_while_speaking(
    jp_fetch: Fetch, jp_ws_fetch: Any, audio_dir: Path, lang: str
) -> None:
    await wait_ready(jp_fetch)
    sentence = SPOKEN[lang]
    clip = festival(sentence, audio_dir) if lang == "ru" else speak(sentence, lang, audio_dir)
    ws = await jp_ws_fetch("neira", "api", "transcribe", "stream")
    live: list[dict[str, Any]] = []
    started = time.perf_counter()
    messages = await stream(
        ws, pcm_of([clip], pause_s=0.3), {"correct": False}, pace_s=0.1, live=live
    )
    elapsed = time.perf_counter() - started
    ws.close()
    # segment 0 is the sentence while it is spoken; its closing decode reports segment 1
    partials = [m for m in live if m["type"] == "partial" and m["segment"] == 0]
    print(f"{lang}: {len(partials)} live partials in {elapsed:.1f} s: {partials}")
    assert partials, f"no partial while speaking; all messages: {messages}"
    final = check_stream(messages, sentence)
    assert final["language"] == lang


def heard(language: str, probability: float) -> Transcript:
    return Transcript("text", [], language, probability, 1.0)


def test_language_tracker_settles_on_a_confident_detection() -> None:
    tracker = LanguageTracker("auto", confidence=0.8)
    assert tracker.for_decode() == "auto" and tracker.language is None
    tracker.observe(heard("en", 0.51), closing=False)  # Whisper on 0.6 s of Russian
    assert tracker.for_decode() == "auto"  # not trusted: the next decode detects again
    assert tracker.language == "en"  # but it is the best guess so far
    tracker.observe(heard("ru", 0.42), closing=True)
    assert tracker.language == "ru"  # a closing decode heard the whole segment
    tracker.observe(heard("pt", 0.6), closing=False)
    assert tracker.language == "ru" and tracker.for_decode() == "auto"
    tracker.observe(heard("ru", 0.83), closing=False)
    assert tracker.for_decode() == "ru" == tracker.language  # settled for every later decode
    tracker.observe(heard("en", 0.99), closing=True)  # a new segment does not re-detect
    assert tracker.for_decode() == "ru" == tracker.language

    given = LanguageTracker("en", confidence=0.8)
    given.observe(heard("ru", 0.99), closing=True)
    assert given.for_decode() == "en" == given.language
