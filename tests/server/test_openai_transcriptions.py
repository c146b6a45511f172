"""Transcriptions through ``neira/v1/audio/transcriptions``, driven by the official ``openai``.

A real jupyter server with the demo models and the ``openai`` client in a
worker thread. A spoken sentence comes back as JSON, text, verbose JSON
with segments, SRT or WebVTT, under the model's name or ``whisper-1``, with
neira's correction when asked (uncorrected, with the reason, when the
language model is switched off); options Whisper cannot honour are a 400
naming the field.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import jiwer
import openai
import pytest
from openai import OpenAI

from neira_jupyter.engine.models import (
    DEMO_EMBEDDING_NAME,
    DEMO_FALLBACK_NAME,
    DEMO_LLM_NAME,
    DEMO_SPEECH_NAME,
)
from tests.conftest import Fetch, get_status, wait_ready
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.helpers import words
from tests.support.openai_spec import check
from tests.support.prompts import MESSAGES

SENTENCE = SENTENCES["en"][1]


@pytest.fixture
def neira_config() -> dict[str, Any]:
    return {"max_jobs_per_user": 1, "max_audio_bytes": 1_000_000}


async def test_transcriptions_json_text_and_verbose_json(
    jp_fetch: Fetch, client: OpenAI, audio_dir: Path
) -> None:
    await wait_ready(jp_fetch)
    wav = speak(SENTENCE, "en", audio_dir)

    def transcribe(**kwargs: Any) -> Any:
        with wav.open("rb") as audio:
            return client.audio.transcriptions.create(
                model=DEMO_SPEECH_NAME, file=audio, language="en", **kwargs
            )

    plain = await asyncio.to_thread(transcribe)
    assert jiwer.wer(words(SENTENCE), words(plain.text)) < 0.3, plain.text
    text = await asyncio.to_thread(transcribe, response_format="text")
    assert isinstance(text, str) and text.strip() == plain.text.strip()
    verbose = await asyncio.to_thread(transcribe, response_format="verbose_json")
    assert verbose.text == plain.text
    assert verbose.language == "en"
    assert verbose.duration is not None and verbose.duration > 1
    assert verbose.segments and verbose.segments[0].start >= 0
    assert "".join(s.text for s in verbose.segments).strip() == plain.text.strip()

    corrected = await asyncio.to_thread(transcribe, extra_body={"neira_correct": "true"})
    extra = corrected.model_extra or {}
    correction = extra["neira_correction"]
    assert correction["raw"] == plain.text
    assert corrected.text == correction["corrected"]
    if correction["degraded"]:
        assert correction["reason"]


@pytest.mark.parametrize("neira_config", [{"llm_enabled": False}])
async def test_without_a_language_model_503_and_uncorrected_transcripts(
    jp_fetch: Fetch, client: OpenAI, audio_dir: Path
) -> None:
    await get_status(jp_fetch)  # jp_fetch is what makes pytest-jupyter listen
    ids = [m.id for m in await asyncio.to_thread(lambda: list(client.models.list()))]
    assert ids == [  # switched off, still listed
        DEMO_LLM_NAME, DEMO_FALLBACK_NAME, DEMO_SPEECH_NAME, "whisper-1", DEMO_EMBEDDING_NAME
    ]  # fmt: skip
    with pytest.raises(openai.InternalServerError) as error:
        await asyncio.to_thread(
            lambda: client.chat.completions.create(model=DEMO_LLM_NAME, messages=MESSAGES)
        )
    assert error.value.status_code == 503
    assert error.value.code == "service_unavailable"
    assert "disabled" in error.value.message
    wav = speak(SENTENCE, "en", audio_dir)
    with wav.open("rb") as audio:
        heard = await asyncio.to_thread(
            lambda: client.audio.transcriptions.create(
                model=DEMO_SPEECH_NAME, file=audio, extra_body={"neira_correct": True}
            )
        )
    correction = (heard.model_extra or {})["neira_correction"]
    assert correction["degraded"] is True and correction["reason"]
    assert heard.text == correction["raw"]


async def test_transcription_formats_and_the_whisper_1_alias(
    jp_fetch: Fetch, client: OpenAI, audio_dir: Path
) -> None:
    await wait_ready(jp_fetch)
    wav = speak(SENTENCE, "en", audio_dir)

    def transcribe(**kwargs: Any) -> Any:
        with wav.open("rb") as audio:
            return client.audio.transcriptions.with_raw_response.create(
                model="whisper-1", file=audio, language="en", **kwargs
            )

    plain = (await asyncio.to_thread(transcribe)).http_response
    check("CreateTranscriptionResponseJson", plain.json())
    said = plain.json()["text"]
    text = (await asyncio.to_thread(transcribe, response_format="text")).http_response
    assert text.headers["Content-Type"].startswith("text/plain")
    assert text.text == said

    verbose = await asyncio.to_thread(
        transcribe, response_format="verbose_json", timestamp_granularities=["segment"]
    )
    document = verbose.http_response.json()
    check("CreateTranscriptionResponseVerboseJson", document)
    segments = document["segments"]
    assert segments and all(s["tokens"] and s["avg_logprob"] < 0 for s in segments)
    assert all(0 <= s["no_speech_prob"] <= 1 and s["compression_ratio"] > 0 for s in segments)
    assert verbose.parse().segments[0].seek == 0

    srt = (await asyncio.to_thread(transcribe, response_format="srt")).http_response
    assert srt.headers["Content-Type"].startswith("application/x-subrip")
    assert re.match(r"1\n00:00:0\d,\d{3} --> 00:00:\d\d,\d{3}\n\S", srt.text), srt.text
    vtt = (await asyncio.to_thread(transcribe, response_format="vtt")).http_response
    assert vtt.headers["Content-Type"].startswith("text/vtt")
    assert vtt.text.startswith("WEBVTT\n\n00:00:0")
    cue_text = [line for line in vtt.text.splitlines()[2:] if line and "-->" not in line]
    assert " ".join(cue_text) == said

    for kwargs, param in (
        ({"response_format": "json", "timestamp_granularities": ["segment"]},
         "timestamp_granularities"),
        ({"response_format": "diarized_json"}, "response_format"),
        ({"temperature": 0.7}, "temperature"),
        ({"prompt": "Ada Lovelace"}, "prompt"),
    ):  # fmt: skip
        with pytest.raises(openai.BadRequestError) as refused:
            await asyncio.to_thread(transcribe, **kwargs)
        assert refused.value.param == param, refused.value.body
