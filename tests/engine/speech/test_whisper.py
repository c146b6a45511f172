"""WhisperTranscriber with the real tiny.en model on espeak-ng speech."""

from __future__ import annotations

import itertools
from pathlib import Path

import jiwer
import numpy as np
import pytest

from neira_jupyter.engine.speech import (
    SAMPLE_RATE,
    Segment,
    SpeechSpec,
    Transcript,
    WhisperTranscriber,
    decode_audio,
)
from neira_jupyter.engine.types import BadRequest, CancelToken, EngineError, ModelState
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.helpers import words
from tests.support.models import tiny_en_path


@pytest.fixture(scope="session")
def english(audio_dir: Path) -> list[np.ndarray]:
    """The English reference sentences as samples, in ``SENTENCES`` order."""
    return [decode_audio(speak(s, "en", audio_dir).read_bytes()) for s in SENTENCES["en"]]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)



def test_describe_a_loaded_model(whisper: WhisperTranscriber) -> None:
    status = whisper.describe()
    assert status["name"] == "whisper-tiny.en"
    assert status["kind"] == "speech"
    assert status["state"] == "ready"
    assert status["error"] is None
    assert status["device"] in {"cpu", "cuda"}
    assert status["memory_bytes"] > 10_000_000
    assert whisper.multilingual is False


def test_english_word_error_rate(whisper: WhisperTranscriber, english: list[np.ndarray]) -> None:
    hypotheses = [whisper.transcribe(audio, language="en").text for audio in english]
    wer = jiwer.wer([words(s) for s in SENTENCES["en"]], [words(h) for h in hypotheses])
    assert wer < 0.3, list(zip(SENTENCES["en"], hypotheses, strict=True))


def test_transcript_fields(whisper: WhisperTranscriber, english: list[np.ndarray]) -> None:
    transcript = whisper.transcribe(english[1])
    assert transcript.language == "en"
    assert transcript.language_probability == 1.0
    assert transcript.duration == pytest.approx(english[1].size / SAMPLE_RATE)
    assert transcript.timings["transcribe_ms"] > 0
    assert not transcript.cancelled
    assert transcript.text == " ".join(s.text for s in transcript.segments)
    assert transcript.segments[0].end > transcript.segments[0].start >= 0


def test_segments_have_increasing_timestamps(
    whisper: WhisperTranscriber, english: list[np.ndarray]
) -> None:
    audio = np.concatenate([english[0], silence(1.5), english[1], silence(1.5), english[2]])
    transcript = whisper.transcribe(audio)
    segments = transcript.segments
    assert len(segments) >= 2
    for segment in segments:
        assert 0.0 <= segment.start < segment.end <= transcript.duration + 0.5
    for before, after in itertools.pairwise(segments):
        assert before.end <= after.start
    assert "friday" in words(transcript.text)


def test_english_only_model_refuses_russian(
    whisper: WhisperTranscriber, english: list[np.ndarray]
) -> None:
    with pytest.raises(BadRequest, match=r"model 'whisper-tiny\.en' is English-only"):
        whisper.transcribe(english[0], language="ru")


def test_empty_audio_is_a_bad_request(whisper: WhisperTranscriber) -> None:
    with pytest.raises(BadRequest, match="the audio is empty"):
        whisper.transcribe(np.zeros(0, dtype=np.float32))


def test_vad_skips_leading_silence(whisper: WhisperTranscriber, english: list[np.ndarray]) -> None:
    audio = np.concatenate([silence(5), english[1]])
    transcript = whisper.transcribe(audio, vad=True)
    assert transcript.segments[0].start > 4.0
    assert words(transcript.text) == words(SENTENCES["en"][1])


def test_cancel_stops_between_segments(
    whisper: WhisperTranscriber, english: list[np.ndarray]
) -> None:
    # over 40 s: two 30 s windows, five sentences; cancelling after the first stops there
    audio = np.concatenate([part for clip in english for part in (clip, silence(6))])
    cancel = CancelToken()
    items: list[Segment | Transcript] = []
    for item in whisper.transcribe_iter(audio, cancel=cancel):
        items.append(item)
        cancel.cancel()
    assert [type(item) for item in items] == [Segment, Transcript]
    transcript = items[-1]
    assert isinstance(transcript, Transcript)
    assert transcript.cancelled
    assert transcript.segments == [items[0]]


def test_cancelled_before_start(whisper: WhisperTranscriber, english: list[np.ndarray]) -> None:
    cancel = CancelToken()
    cancel.cancel()
    transcript = whisper.transcribe(english[0], cancel=cancel)
    assert transcript.cancelled
    assert transcript.segments == []
    assert transcript.text == ""


def test_not_loaded_and_failed_load(tmp_path: Path) -> None:
    idle = WhisperTranscriber(SpeechSpec("idle", tiny_en_path()))
    assert idle.describe()["state"] == "unloaded"
    with pytest.raises(EngineError, match="'idle' is unloaded, not ready"):
        idle.transcribe(silence(1))

    broken = WhisperTranscriber(SpeechSpec("broken", tmp_path))
    with pytest.raises(EngineError, match="cannot load model 'broken'"):
        broken.load()
    assert broken.state is ModelState.FAILED
    status = broken.describe()
    assert status["state"] == "failed"
    assert "Whisper model.bin not found" in status["error"]
    broken.close()
    assert broken.state is ModelState.FAILED
