"""The OpenAI-compatible API (``neira/v1/``) driven by the official ``openai`` package.

A real jupyter server with the demo models; the client is the one users
install (``openai``), pointed at ``{base_url}neira/v1`` with the server's
token as its API key. The sync client runs in a worker thread, since the
server shares this test's event loop. ``max_jobs_per_user`` is 1 here, so a
second request while one runs is a deterministic 429. What comes over the
wire is also validated against OpenAI's own response schemas
(``tests/support/openai_spec.py``).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from pathlib import Path
from typing import Any

import jiwer
import jsonschema
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from neira_jupyter.engine.models import DEMO_FALLBACK_NAME, DEMO_LLM_NAME, DEMO_SPEECH_NAME
from neira_jupyter.server.routes import OPENAI_HANDLERS
from tests.conftest import Fetch, get_status, wait_ready
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.helpers import words
from tests.support.neira_http import fetch_raw, sse_documents
from tests.support.openai_spec import check

SENTENCE = SENTENCES["en"][1]
COUNTING = "Count from 1 to 300, separated by commas: 1, 2, 3, 4, 5,"
MESSAGES: list[Any] = [
    {"role": "system", "content": "You answer in one short sentence."},
    {"role": "user", "content": "Name a colour of the rainbow."},
]
ERROR_KEYS = {"message", "type", "param", "code"}
V1_ROUTES = [
    ("GET", "models"),
    ("GET", "models/x"),
    ("POST", "chat/completions"),
    ("POST", "completions"),
    ("POST", "audio/transcriptions"),
]



@pytest.fixture
def neira_config() -> dict[str, Any]:
    return {"max_jobs_per_user": 1, "max_audio_bytes": 1_000_000}


async def test_models_lists_the_configured_llms_and_the_speech_model(
    jp_fetch: Fetch, client: OpenAI
) -> None:
    await wait_ready(jp_fetch)
    models = await asyncio.to_thread(lambda: list(client.models.list()))
    ids = [m.id for m in models]
    assert ids == [DEMO_LLM_NAME, DEMO_FALLBACK_NAME, DEMO_SPEECH_NAME, "whisper-1"]
    assert {m.owned_by for m in models} == {"neira"}
    listed = await asyncio.to_thread(client.models.with_raw_response.list)
    check("ListModelsResponse", listed.http_response.json())
    one = await asyncio.to_thread(client.models.retrieve, DEMO_SPEECH_NAME)
    assert one.id == DEMO_SPEECH_NAME
    with pytest.raises(openai.NotFoundError) as error:
        await asyncio.to_thread(client.models.retrieve, "gpt-4o")
    assert error.value.code == "model_not_found"


async def test_chat_stream_with_usage_joins_to_the_whole_answer(
    jp_fetch: Fetch, client: OpenAI
) -> None:
    await wait_ready(jp_fetch)
    settings: dict[str, Any] = {
        "model": DEMO_LLM_NAME,
        "messages": MESSAGES,
        "max_tokens": 12,
        "temperature": 0,
        "top_p": 0.9,
        "seed": 7,
    }
    whole = await asyncio.to_thread(lambda: client.chat.completions.create(**settings))
    assert whole.id.startswith("chatcmpl-")
    assert whole.object == "chat.completion"
    assert whole.model == DEMO_LLM_NAME
    [choice] = whole.choices
    assert choice.message.role == "assistant"
    assert choice.message.content and choice.message.content.strip()
    assert choice.finish_reason in {"stop", "length"}
    assert whole.usage is not None
    assert 1 <= whole.usage.completion_tokens <= 12
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens

    def stream() -> list[Any]:
        chunks = client.chat.completions.create(
            **settings, stream=True, stream_options={"include_usage": True}
        )
        return list(chunks)

    chunks = await asyncio.to_thread(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    assert text == choice.message.content  # greedy: the same tokens either way
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == choice.finish_reason and not any(finishes[:-1])
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens == whole.usage.completion_tokens


async def test_stop_strings_and_text_completions(
    jp_fetch: Fetch, client: OpenAI, jp_http_port: int, jp_base_url: str
) -> None:
    await wait_ready(jp_fetch)
    settings: dict[str, Any] = {"model": DEMO_LLM_NAME, "max_tokens": 16, "temperature": 0}
    counted = await asyncio.to_thread(
        lambda: client.completions.create(prompt=COUNTING, **settings)
    )
    assert counted.object == "text_completion"
    text = counted.choices[0].text
    assert len(text) >= 6, text
    # greedy decoding repeats itself: a stop string from the middle of the answer cuts it there
    stop = text[len(text) // 2 :][:3]
    expected = text[: text.index(stop)]
    stopped = await asyncio.to_thread(
        lambda: client.completions.create(prompt=[COUNTING], stop=stop, **settings)
    )
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.choices[0].text == expected

    def stream() -> list[Any]:
        return list(
            client.completions.create(prompt=COUNTING, stop=[stop, "zzz"], stream=True, **settings)
        )

    chunks = await asyncio.to_thread(stream)
    assert "".join(c.choices[0].text for c in chunks) == stopped.choices[0].text
    assert chunks[-1].choices[0].finish_reason == "stop"

    # the wire itself, as curl sees it: SSE data lines, the last one [DONE]
    raw = await fetch_raw(
        jp_http_port,
        jp_base_url,
        "neira/v1/completions",
        "POST",
        json.dumps({"prompt": COUNTING, "stop": stop, "stream": True, **settings}).encode(),
        {"Authorization": f"Bearer {client.api_key}", "Content-Type": "application/json"},
    )
    assert raw.headers["Content-Type"].startswith("text/event-stream")
    events = [e for e in raw.body.decode().split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    texts = [json.loads(e[6:])["choices"][0]["text"] for e in events[:-1]]
    assert "".join(texts) == expected


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


async def test_errors_have_openai_shape(
    jp_fetch: Fetch, client: OpenAI, v1_url: str, jp_http_port: int, jp_base_url: str
) -> None:
    await wait_ready(jp_fetch)
    chat: dict[str, Any] = {"model": DEMO_LLM_NAME, "messages": MESSAGES}
    cases: list[tuple[dict[str, Any], type[openai.APIStatusError], str | None]] = [
        ({"model": DEMO_LLM_NAME, "messages": []}, openai.BadRequestError, "messages"),
        ({**chat, "n": 17}, openai.BadRequestError, "n"),
        ({**chat, "max_tokens": 0}, openai.BadRequestError, "max_tokens"),
        ({**chat, "stop": ["a"] * 9}, openai.BadRequestError, "stop"),
        ({**chat, "presence_penalty": 5}, openai.BadRequestError, "presence_penalty"),
        ({"model": DEMO_SPEECH_NAME, "messages": MESSAGES}, openai.BadRequestError, "model"),
        ({"model": "/etc/passwd", "messages": MESSAGES}, openai.NotFoundError, "model"),
        ({"model": "gpt-4o", "messages": MESSAGES}, openai.NotFoundError, "model"),
    ]
    for body, kind, param in cases:
        with pytest.raises(kind) as error:
            await asyncio.to_thread(lambda b=body: client.chat.completions.create(**b))
        assert error.value.param == param, (body, error.value.body)
        assert isinstance(error.value.body, dict) and set(error.value.body) == ERROR_KEYS
        assert error.value.body["message"]
    assert error.value.code == "model_not_found"

    stranger = OpenAI(base_url=v1_url, api_key="not-the-token", max_retries=0)
    with stranger, pytest.raises(openai.AuthenticationError) as denied:
        await asyncio.to_thread(lambda: list(stranger.models.list()))
    assert denied.value.status_code == 401
    assert denied.value.type == "authentication_error"

    assert {p.replace("([^/]+)", "x") for p in OPENAI_HANDLERS} == {p for _, p in V1_ROUTES}
    for method, path in V1_ROUTES:
        body = b"{}" if method == "POST" else None
        response = await fetch_raw(jp_http_port, jp_base_url, f"neira/v1/{path}", method, body)
        assert response.code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert json.loads(response.body)["error"]["type"] == "authentication_error"

    big = await fetch_raw(
        jp_http_port,
        jp_base_url,
        "neira/v1/audio/transcriptions",
        "POST",
        b"x" * 1_100_000,
        {"Authorization": f"Bearer {client.api_key}", "Content-Type": "audio/wav"},
    )
    assert big.code == 413
    assert json.loads(big.body)["error"]["code"] == "request_too_large"


async def test_disconnect_cancels_and_a_second_job_gets_429(
    jp_fetch: Fetch, client: OpenAI, v1_url: str, token: str
) -> None:
    await wait_ready(jp_fetch)
    async with AsyncOpenAI(base_url=v1_url, api_key=token, max_retries=0) as async_client:
        stream = await async_client.chat.completions.create(
            model=DEMO_LLM_NAME,
            messages=[{"role": "user", "content": COUNTING}],
            max_tokens=1500,
            temperature=0,
            stream=True,
        )
        chunks: list[Any] = []
        async for chunk in stream:
            chunks.append(chunk)
            if len(chunks) == 4:
                break
        request_id = chunks[-1].id.removeprefix("chatcmpl-")
        status = await get_status(jp_fetch)
        assert request_id in status["queue"]["running_ids"]

        with pytest.raises(openai.RateLimitError) as limited:  # max_jobs_per_user is 1
            await asyncio.to_thread(
                lambda: client.chat.completions.create(model=DEMO_LLM_NAME, messages=MESSAGES)
            )
        assert limited.value.response.headers["Retry-After"].isdigit()
        assert limited.value.code == "rate_limit_exceeded"

        await stream.close()  # the client leaves mid-stream
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:
        queue = (await get_status(jp_fetch))["queue"]
        if queue["running"] == 0 and queue["depth"] == 0:
            break
        assert loop.time() < deadline, f"the job kept running after the client left: {queue}"
        await asyncio.sleep(0.1)
    assert request_id not in queue["running_ids"]


@pytest.mark.parametrize("neira_config", [{"llm_enabled": False}])
async def test_without_a_language_model_503_and_uncorrected_transcripts(
    jp_fetch: Fetch, client: OpenAI, audio_dir: Path
) -> None:
    await get_status(jp_fetch)  # jp_fetch is what makes pytest-jupyter listen
    ids = [m.id for m in await asyncio.to_thread(lambda: list(client.models.list()))]
    assert ids == [DEMO_LLM_NAME, DEMO_FALLBACK_NAME, DEMO_SPEECH_NAME, "whisper-1"]  # switched off
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



async def test_answers_validate_against_the_spec_and_no_op_fields_are_accepted(
    jp_fetch: Fetch, client: OpenAI, token: str, jp_http_port: int, jp_base_url: str
) -> None:
    await wait_ready(jp_fetch)
    no_ops: dict[str, Any] = {
        "store": False,
        "metadata": {"cell": "7"},
        "service_tier": "auto",
        "parallel_tool_calls": True,
        "response_format": {"type": "text"},
        "tool_choice": "none",
        "user": "ada",
    }
    settings: dict[str, Any] = {"max_tokens": 6, "temperature": 0}
    plain = await asyncio.to_thread(
        lambda: client.chat.completions.create(model=DEMO_LLM_NAME, messages=MESSAGES, **settings)
    )
    busy = await asyncio.to_thread(
        lambda: client.chat.completions.with_raw_response.create(
            model=DEMO_LLM_NAME, messages=MESSAGES, **settings, **no_ops
        )
    )
    whole = busy.http_response.json()
    check("CreateChatCompletionResponse", whole)
    assert whole["choices"][0]["message"]["content"] == plain.choices[0].message.content
    assert busy.parse().choices[0].message.refusal is None

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for route, body, schema in (
        ("chat/completions", {"messages": MESSAGES}, "CreateChatCompletionStreamResponse"),
        ("completions", {"prompt": COUNTING}, "CreateCompletionResponse"),
    ):
        for stream in (False, True):
            request = {"model": DEMO_LLM_NAME, **settings, **body, "stream": stream}
            if stream:
                request["stream_options"] = {"include_usage": True}
            raw = await fetch_raw(
                jp_http_port, jp_base_url, f"neira/v1/{route}", "POST",
                json.dumps(request).encode(), headers,
            )  # fmt: skip
            assert raw.code == 200, raw.body
            if not stream:
                name = schema.replace("StreamResponse", "Response")
                check(name, json.loads(raw.body))
                continue
            chunks = sse_documents(raw.body)
            assert len(chunks) >= 3
            for chunk in chunks[:-1]:
                for choice in chunk["choices"]:  # null until the end, as OpenAI streams it
                    if route == "completions" and choice["finish_reason"] is None:
                        choice["finish_reason"] = "stop"
            for chunk in chunks:
                check(schema, chunk)
    error = await fetch_raw(
        jp_http_port, jp_base_url, "neira/v1/chat/completions", "POST",
        json.dumps({"model": DEMO_LLM_NAME, "messages": MESSAGES, "tools": [{}]}).encode(),
        headers,
    )  # fmt: skip
    assert error.code == 400
    check("ErrorResponse", json.loads(error.body))
    assert json.loads(error.body)["error"]["param"] == "tools[0].type"


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


async def test_json_nested_1000_deep_is_a_400(
    jp_fetch: Fetch, token: str, jp_http_port: int, jp_base_url: str
) -> None:
    await get_status(jp_fetch)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = ('{"model": "x", "messages": ' + "[" * 1000 + "]" * 1000 + "}",
              "[" * 100_000 + "]" * 100_000)  # fmt: skip
    for path in ("api/generate", "api/correct", "v1/chat/completions", "v1/completions"):
        for body in bodies:
            response = await fetch_raw(
                jp_http_port, jp_base_url, f"neira/{path}", "POST", body.encode(), headers
            )
            assert response.code == 400, (path, response.body[:300])
            assert b"levels deep" in response.body


PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "languages": {"type": "array", "items": {"enum": ["python", "rust", "c"]}, "maxItems": 3},
    },
    "required": ["name", "age", "languages"],
    "additionalProperties": False,
}
ASK_PERSON: list[Any] = [
    {"role": "user", "content": "Describe a programmer named Ada, 36, who writes Python."}
]


@pytest.mark.parametrize(
    "neira_config",
    [{"max_jobs_per_user": 1}, {"max_jobs_per_user": 1, "llm_slots": 1}],
    ids=["slots", "one-slot"],
)
async def test_structured_output_always_parses(
    jp_fetch: Fetch, client: OpenAI, jp_http_port: int, jp_base_url: str, token: str
) -> None:
    await wait_ready(jp_fetch)
    schema_format = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}}
    for temperature in (0.0, 1.0):
        settings: dict[str, Any] = {
            "model": DEMO_LLM_NAME, "messages": ASK_PERSON, "max_tokens": 200,
            "temperature": temperature, "seed": 3,
        }  # fmt: skip
        whole = await asyncio.to_thread(
            lambda s=settings: client.chat.completions.create(
                **s, response_format=schema_format  # type: ignore[arg-type]
            )
        )
        assert whole.choices[0].finish_reason == "stop", whole.choices[0].message.content
        person = json.loads(whole.choices[0].message.content or "")
        jsonschema.validate(person, PERSON)

        def stream(s: dict[str, Any] = settings) -> list[Any]:
            return list(
                client.chat.completions.create(
                    **s, response_format={"type": "json_object"}, stream=True
                )
            )

        chunks = await asyncio.to_thread(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert isinstance(json.loads(text), dict), text

    # neira's own API takes the schema as json_schema
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = {"messages": ASK_PERSON, "json_schema": PERSON, "stream": False, "max_tokens": 200}
    raw = await fetch_raw(
        jp_http_port, jp_base_url, "neira/api/generate", "POST", json.dumps(body).encode(), headers
    )
    assert raw.code == 200, raw.body
    jsonschema.validate(json.loads(json.loads(raw.body)["text"]), PERSON)
    bad = {**body, "json_schema": {"type": "object", "properties": {"a": {"pattern": "(("}}}}
    refused = await fetch_raw(
        jp_http_port, jp_base_url, "neira/api/generate", "POST", json.dumps(bad).encode(), headers
    )
    assert refused.code == 400 and b"json_schema" in refused.body, refused.body
    named = {"name": "x", "schema": bad["json_schema"]}
    unfollowable = {"type": "json_schema", "json_schema": named}
    with pytest.raises(openai.BadRequestError) as error:
        await asyncio.to_thread(
            lambda: client.chat.completions.create(
                model=DEMO_LLM_NAME,
                messages=ASK_PERSON,
                response_format=unfollowable,  # type: ignore[arg-type]
            )
        )
    assert error.value.param == "response_format.json_schema.schema"


@pytest.mark.parametrize(
    "neira_config",
    [{"max_jobs_per_user": 1}, {"max_jobs_per_user": 1, "llm_slots": 1}],
    ids=["slots", "one-slot"],
)
async def test_penalties_and_logit_bias_change_the_answer(
    jp_fetch: Fetch, client: OpenAI
) -> None:
    await wait_ready(jp_fetch)
    settings: dict[str, Any] = {
        "model": DEMO_LLM_NAME, "prompt": COUNTING, "max_tokens": 16, "temperature": 0,
    }  # fmt: skip

    def complete(**extra: Any) -> str:
        return client.completions.create(**settings, **extra).choices[0].text

    plain = await asyncio.to_thread(complete)
    # token 0 of Qwen2.5's vocabulary is "!": pushed up by 100, greedy decoding says nothing else
    assert await asyncio.to_thread(complete, logit_bias={"0": 100}) == "!" * 16
    assert await asyncio.to_thread(complete, frequency_penalty=0) == plain
    settings["prompt"] = "Write the word hello ten times, separated by spaces."
    repeated = await asyncio.to_thread(complete)
    assert repeated.lower().count("hello") >= 5, repeated
    penalised = await asyncio.to_thread(complete, frequency_penalty=2.0)
    assert penalised.lower().count("hello") < repeated.lower().count("hello"), penalised
    # greedy, the demo model repeats its haiku's first line; once each word has a penalty it
    # does not (a flat presence penalty of 2 is too weak against "hello" x 10)
    settings["prompt"] = "Write a haiku about the sea."
    haiku = await asyncio.to_thread(complete)
    assert haiku.count("Whispers") > 1, haiku
    assert await asyncio.to_thread(complete, presence_penalty=2.0) != haiku
    with pytest.raises(openai.BadRequestError) as error:
        await asyncio.to_thread(complete, logit_bias={"999999999": 1})
    assert error.value.param == "logit_bias"


async def test_logprobs_on_the_batched_path(
    jp_fetch: Fetch, client: OpenAI, token: str, jp_http_port: int, jp_base_url: str
) -> None:
    await wait_ready(jp_fetch)
    settings: dict[str, Any] = {
        "model": DEMO_LLM_NAME, "messages": MESSAGES, "max_tokens": 8, "temperature": 0,
        "logprobs": True, "top_logprobs": 3,
    }  # fmt: skip
    raw = await asyncio.to_thread(
        lambda: client.chat.completions.with_raw_response.create(**settings)
    )
    check("CreateChatCompletionResponse", raw.http_response.json())
    whole = raw.parse()
    [choice] = whole.choices
    assert choice.logprobs is not None and choice.logprobs.content
    content = choice.logprobs.content
    assert whole.usage is not None and len(content) == whole.usage.completion_tokens
    assert "".join(t.token for t in content) == choice.message.content
    for scored in content:
        assert scored.logprob <= 0 and bytes(scored.bytes or []).decode() == scored.token
        alternatives = scored.top_logprobs
        assert len(alternatives) == 3
        assert [a.logprob for a in alternatives] == sorted((a.logprob for a in alternatives),
                                                           reverse=True)  # fmt: skip
        assert sum(math.exp(a.logprob) for a in alternatives) <= 1 + 1e-6
        # greedy: the chosen token is the likeliest one
        assert alternatives[0].token == scored.token
        assert alternatives[0].logprob == pytest.approx(scored.logprob)

    chunks = await asyncio.to_thread(
        lambda: list(client.chat.completions.create(**settings, stream=True))
    )
    streamed = [t for c in chunks if c.choices and c.choices[0].logprobs
                for t in c.choices[0].logprobs.content or []]  # fmt: skip
    assert [t.token for t in streamed] == [t.token for t in content]
    # the same numbers but for float noise: llama.cpp's kernels differ with the batch's size
    # (the second request reads only the prompt's last token, the rest is in the cache)
    assert [t.logprob for t in streamed] == pytest.approx([t.logprob for t in content], abs=0.2)

    text = await asyncio.to_thread(
        lambda: client.completions.with_raw_response.create(
            model=DEMO_LLM_NAME, prompt=COUNTING, max_tokens=6, temperature=0, logprobs=2
        )
    )
    check("CreateCompletionResponse", text.http_response.json())
    [legacy] = text.parse().choices
    assert legacy.logprobs is not None and legacy.logprobs.tokens
    assert "".join(legacy.logprobs.tokens) == legacy.text
    offsets = legacy.logprobs.text_offset or []
    assert offsets[0] == 0 and offsets == sorted(offsets)
    assert all(len(top) == 2 for top in legacy.logprobs.top_logprobs or [])

    with pytest.raises(openai.BadRequestError) as error:
        await asyncio.to_thread(
            lambda: client.chat.completions.create(
                model=DEMO_LLM_NAME, messages=MESSAGES, top_logprobs=2
            )
        )
    assert error.value.param == "top_logprobs"


@pytest.mark.parametrize("neira_config", [{"llm_slots": 1}])
async def test_logprobs_and_choices_with_one_slot(jp_fetch: Fetch, client: OpenAI) -> None:
    """One slot is the same batch loop: logprobs, and n choices one after another."""
    await wait_ready(jp_fetch)
    answer = await asyncio.to_thread(
        lambda: client.chat.completions.create(
            model=DEMO_LLM_NAME, messages=MESSAGES, logprobs=True, top_logprobs=2, max_tokens=4,
            n=2, temperature=0,
        )
    )  # fmt: skip
    assert [c.index for c in answer.choices] == [0, 1]
    for choice in answer.choices:
        assert choice.logprobs is not None and choice.logprobs.content
        assert all(len(t.top_logprobs) == 2 for t in choice.logprobs.content)
    assert answer.choices[0].message.content == answer.choices[1].message.content  # greedy


async def test_echo_begins_the_text_with_the_prompt(jp_fetch: Fetch, client: OpenAI) -> None:
    await wait_ready(jp_fetch)
    settings: dict[str, Any] = {
        "model": DEMO_LLM_NAME, "prompt": COUNTING, "max_tokens": 6, "temperature": 0,
    }  # fmt: skip
    plain = await asyncio.to_thread(lambda: client.completions.create(**settings))
    echoed = await asyncio.to_thread(lambda: client.completions.create(**settings, echo=True))
    assert echoed.choices[0].text == COUNTING + plain.choices[0].text
    chunks = await asyncio.to_thread(
        lambda: list(client.completions.create(**settings, echo=True, stream=True))
    )
    assert chunks[0].choices[0].text == COUNTING
    assert "".join(c.choices[0].text for c in chunks) == echoed.choices[0].text


async def test_n_choices_on_the_batched_path(jp_fetch: Fetch, client: OpenAI) -> None:
    await wait_ready(jp_fetch)
    settings: dict[str, Any] = {"model": DEMO_LLM_NAME, "messages": MESSAGES, "max_tokens": 12}
    raw = await asyncio.to_thread(
        lambda: client.chat.completions.with_raw_response.create(
            **settings, n=3, temperature=1.2, seed=11
        )
    )
    check("CreateChatCompletionResponse", raw.http_response.json())
    varied = raw.parse()
    assert [c.index for c in varied.choices] == [0, 1, 2]
    texts = [c.message.content for c in varied.choices]
    assert all(texts) and len(set(texts)) > 1, texts  # seeds 11, 12, 13: different answers
    assert varied.usage is not None and varied.usage.completion_tokens >= 3

    greedy = await asyncio.to_thread(
        lambda: client.chat.completions.create(**settings, n=2, temperature=0)
    )
    chunks = await asyncio.to_thread(
        lambda: list(client.chat.completions.create(**settings, n=2, temperature=0, stream=True))
    )
    joined = {0: "", 1: ""}
    for chunk in chunks:
        for choice in chunk.choices:
            joined[choice.index] += choice.delta.content or ""
    assert [joined[0], joined[1]] == [c.message.content for c in greedy.choices]
    assert {c.choices[0].delta.role for c in chunks[:2]} == {"assistant"}
    last = chunks[-1].choices
    assert [c.index for c in last] == [0, 1] and all(c.finish_reason for c in last)

    text = await asyncio.to_thread(
        lambda: client.completions.create(
            model=DEMO_LLM_NAME, prompt=COUNTING, max_tokens=4, temperature=0, n=2, echo=True
        )
    )
    assert len(text.choices) == 2
    assert all(c.text.startswith(COUNTING) for c in text.choices)
    with pytest.raises(openai.BadRequestError) as error:
        await asyncio.to_thread(lambda: client.chat.completions.create(**settings, n=17))
    assert error.value.param == "n"
