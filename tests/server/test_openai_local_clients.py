"""What clients written for other local servers send to ``neira/v1/``, with the official client.

A real jupyter server with the demo models. llama.cpp server's
``response_format: {"type": "json_object", "schema": ...}`` constrains the
answer to the schema; ``timestamp_granularities: ["word"]`` times every
word of a transcription (faster-whisper's word timestamps); an unknown path
under ``v1/`` is OpenAI's JSON 404, not Jupyter's page.
"""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path
from typing import Any

import jiwer
import jsonschema
import openai
import pytest
from openai import OpenAI

from neira_jupyter.engine.models import DEMO_LLM_NAME, DEMO_SPEECH_NAME
from tests.conftest import Fetch, wait_ready
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.helpers import words
from tests.support.neira_http import fetch_raw
from tests.support.openai_spec import check

CITY = {
    "type": "object",
    "properties": {
        "city": {"enum": ["Paris", "Rome", "Oslo"]},
        "population_millions": {"type": "integer"},
    },
    "required": ["city", "population_millions"],
    "additionalProperties": False,
}


@pytest.fixture
def neira_config() -> dict[str, Any]:
    return {"max_jobs_per_user": 1, "max_audio_bytes": 1_000_000}


async def test_json_object_with_a_schema_follows_it(jp_fetch: Fetch, client: OpenAI) -> None:
    await wait_ready(jp_fetch)
    ask: Any = [{"role": "user", "content": "Tell me about the capital of France as JSON."}]
    json_object: Any = {"type": "json_object", "schema": CITY}  # llama.cpp server's form
    for temperature in (0.0, 1.0):
        answer = await asyncio.to_thread(
            functools.partial(
                client.chat.completions.create,
                model=DEMO_LLM_NAME,
                messages=ask,
                max_tokens=64,
                temperature=temperature,
                seed=5,
                response_format=json_object,
            )
        )
        assert answer.choices[0].finish_reason == "stop"
        jsonschema.validate(json.loads(answer.choices[0].message.content or ""), CITY)
    unfollowable: Any = {"type": "json_object", "schema": {"type": "string", "pattern": "a"}}
    with pytest.raises(openai.BadRequestError) as refused:
        await asyncio.to_thread(
            lambda: client.chat.completions.create(
                model=DEMO_LLM_NAME,
                messages=ask,
                response_format=unfollowable,
            )
        )
    assert "grammar" in refused.value.message


async def test_word_timestamps_in_verbose_json(
    jp_fetch: Fetch, client: OpenAI, audio_dir: Path
) -> None:
    await wait_ready(jp_fetch)
    sentence = SENTENCES["en"][1]
    wav = speak(sentence, "en", audio_dir)

    def transcribe(granularities: list[Any]) -> Any:
        with wav.open("rb") as audio:
            return client.audio.transcriptions.create(
                model=DEMO_SPEECH_NAME,
                file=audio,
                language="en",
                response_format="verbose_json",
                timestamp_granularities=granularities,
            )

    timed = await asyncio.to_thread(transcribe, ["word", "segment"])
    check("CreateTranscriptionResponseVerboseJson", timed.model_dump(exclude_none=True))
    assert timed.words and timed.segments
    assert jiwer.wer(words(timed.text), words(" ".join(w.word for w in timed.words))) == 0
    starts = [w.start for w in timed.words]
    assert starts == sorted(starts) and all(w.start <= w.end for w in timed.words)
    assert timed.words[-1].end <= (timed.duration or 0) + 0.5
    segments_only = await asyncio.to_thread(transcribe, ["segment"])
    assert segments_only.words is None and segments_only.segments


async def test_an_unknown_v1_path_is_a_json_404(
    jp_fetch: Fetch, client: OpenAI, token: str, jp_http_port: int, jp_base_url: str
) -> None:
    await wait_ready(jp_fetch)
    headers = {"Authorization": f"Bearer {token}"}
    for method, path in [("GET", "nothing/here"), ("POST", "files"), ("DELETE", "models/x/y")]:
        body = b"{}" if method == "POST" else None
        response = await fetch_raw(
            jp_http_port, jp_base_url, f"neira/v1/{path}", method, body, headers
        )
        assert response.code == 404, (path, response.body[:200])
        assert response.headers["Content-Type"].startswith("application/json")
        document = json.loads(response.body)
        check("ErrorResponse", document)
        assert path in document["error"]["message"]
    with pytest.raises(openai.NotFoundError) as missing:
        await asyncio.to_thread(lambda: client.batches.list())
    assert missing.value.body["type"] == "invalid_request_error"  # type: ignore[index]
