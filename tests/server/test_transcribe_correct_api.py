"""Transcription and correction over neira's own API, on a real server with the demo models.

``api/transcribe`` takes a WAV body or a multipart form and returns the raw
transcript (near the spoken sentence by word error rate), its segments and
timings, and the correction when asked; ``api/correct`` restores casing and
punctuation and keeps the words. Without a language model the correction is
degraded (the raw text back, with the reason) and generation is a 503.
"""

from __future__ import annotations

import json
from pathlib import Path

import jiwer
import pytest
from tornado.httpclient import HTTPClientError

from neira_jupyter.engine.models import DEMO_LLM_NAME
from tests.conftest import Fetch, wait_ready
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.helpers import post_audio, post_json, words
from tests.support.neira_http import error_message

SENTENCE = SENTENCES["en"][1]  # tiny.en hears the fox pangram differently run to run


async def test_transcribe_espeak_sentence(jp_fetch: Fetch, audio_dir: Path) -> None:
    await wait_ready(jp_fetch)
    wav = speak(SENTENCE, "en", audio_dir)
    response = await post_audio(jp_fetch, wav, {"correct": "false", "language": "en"})
    document = json.loads(response.body)
    assert jiwer.wer(words(SENTENCE), words(document["raw"])) < 0.3
    assert document["text"] == document["raw"]
    assert document["correction"] is None
    assert document["segments"][0]["start"] >= 0
    assert document["language"] == "en"
    assert document["timings"]["transcribe_ms"] > 0
    assert document["timings"]["decode_ms"] > 0


async def test_transcribe_multipart_with_correction(jp_fetch: Fetch, audio_dir: Path) -> None:
    await wait_ready(jp_fetch)
    wav = speak(SENTENCE, "en", audio_dir)
    boundary = "neiraboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="language"\r\n\r\nen\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        ).encode()
        + wav.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = await jp_fetch(
        "neira",
        "api",
        "transcribe",
        method="POST",
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        request_timeout=300,  # transcription and correction take long on a loaded 2-core machine
    )
    document = json.loads(response.body)
    assert jiwer.wer(words(SENTENCE), words(document["raw"])) < 0.3, document
    correction = document["correction"]
    assert correction["raw"] == document["raw"]
    assert correction["corrected"] == document["text"]
    # the correction ran on the demo LLM (a silent fall back to the raw text fails here)
    assert correction["degraded"] is False, correction["reason"]
    assert correction["model"] == DEMO_LLM_NAME, correction


async def test_correct_returns_raw_and_corrected(jp_fetch: Fetch) -> None:
    await wait_ready(jp_fetch)
    raw = "hello how are you today i am fine thank you"
    body = {"text": raw, "language": "en"}
    response = await post_json(jp_fetch, "correct", body, request_timeout=300)
    document = json.loads(response.body)
    assert document["raw"] == raw
    assert isinstance(document["corrected"], str) and document["corrected"]
    assert document["language"] == "en"
    assert document["degraded"] is False, document["reason"]
    assert document["model"] == DEMO_LLM_NAME
    # the demo LLM restores casing and punctuation and keeps the words
    assert document["corrected"][0] == "H" and document["corrected"][-1] in ".!?"
    assert words(document["corrected"]).split() == raw.split()


@pytest.mark.parametrize("sse", [False, True])
async def test_correct_streams_each_sentence_then_done(jp_fetch: Fetch, sse: bool) -> None:
    await wait_ready(jp_fetch)
    raw = (
        "i think we should meet at the station tomorrow morning\n"
        "can you send me the file before lunch please. "
        "the meeting has been moved to the small room"
    )
    body = {"text": raw, "language": "en", "stream": True}
    headers = {"Accept": "text/event-stream"} if sse else {}
    response = await post_json(jp_fetch, "correct", body, headers=headers, request_timeout=300)
    media = "text/event-stream" if sse else "application/x-ndjson"
    assert response.headers["Content-Type"].startswith(media)
    text = response.body.decode()
    lines = [line.removeprefix("data: ") for line in text.split("\n\n" if sse else "\n") if line]
    events = [json.loads(line) for line in lines]
    *pieces, done = events
    assert [e["type"] for e in pieces] == ["corrected"] * 3 and done["type"] == "done", events
    assert [(e["first"], e["end"]) for e in pieces] == [(0, 1), (1, 2), (2, 3)]
    assert " ".join(e["raw"] for e in pieces) == " ".join(raw.split())
    assert pieces[-1]["covered_words"] == len(raw.split())
    # the pieces' corrections, joined by the text's own line break and space
    first, second, third = (e["text"] for e in pieces)
    assert done["corrected"] == f"{first}\n{second} {third}"
    assert done["raw"] == raw and done["model"] == DEMO_LLM_NAME
    assert done["degraded"] is any(e["degraded"] for e in pieces)
    assert words(done["corrected"]).split() == words(raw).split()


@pytest.mark.parametrize("neira_config", [{"llm_enabled": False}])
async def test_correct_without_llm_is_degraded(jp_fetch: Fetch) -> None:
    raw = "привет как дела"
    response = await post_json(jp_fetch, "correct", {"text": raw, "language": "ru"})
    document = json.loads(response.body)
    assert document == {**document, "raw": raw, "corrected": raw, "degraded": True}
    assert "disabled" in document["reason"]
    with pytest.raises(HTTPClientError) as error:
        await post_json(jp_fetch, "generate", {"prompt": "hi"})
    assert error.value.code == 503
    assert "disabled" in error_message(error.value)
