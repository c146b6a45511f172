"""The OpenAI-compatible answers: what the protocol models build and how the routes are described.

Completions, stream chunks, transcriptions and errors built by
``neira_jupyter.protocol.openai_answers`` validate against OpenAI's own
response schemas (``tests/support/openai_spec.py``); subtitles come out as
SRT and WebVTT; the OpenAPI document describes every ``neira/v1`` route.
"""

from __future__ import annotations

import re

from neira_jupyter.engine.speech.whisper import Segment
from neira_jupyter.protocol.generate import Usage
from neira_jupyter.protocol.openai import openai_error
from neira_jupyter.protocol.openai_answers import (
    AssistantMessage,
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatDelta,
    NeiraInfo,
    Transcription,
    TranscriptionSegment,
)
from neira_jupyter.protocol.openai_audio import subtitles
from tests.support.openai_spec import check


def test_chunks_leave_out_what_a_delta_does_not_carry() -> None:
    chunk = ChatCompletionChunk.model_validate(
        {"id": "c", "created": 1, "model": "m", "choices": [{"delta": {"content": "x"}}]}
    )
    choice = chunk.to_dict()["choices"][0]
    assert choice["delta"] == {"content": "x"}
    assert choice["finish_reason"] is None


def test_answers_validate_against_the_spec() -> None:
    usage = Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5)
    info = NeiraInfo(request_id="r", route="primary")
    whole = ChatCompletion(
        id="chatcmpl-r",
        created=1,
        model="m",
        choices=[ChatChoice(message=AssistantMessage(content="hi"), finish_reason="stop")],
        usage=usage,
        neira=info,
    ).to_dict()
    check("CreateChatCompletionResponse", whole)
    assert whole["choices"][0]["message"]["refusal"] is None
    for choice in (ChatChunkChoice(delta=ChatDelta(role="assistant", content="")),
                   ChatChunkChoice(delta=ChatDelta(), finish_reason="length")):  # fmt: skip
        chunk = ChatCompletionChunk(id="c", created=1, model="m", choices=[choice]).to_dict()
        check("CreateChatCompletionStreamResponse", chunk)
        assert "delta" in chunk["choices"][0]
    segment = TranscriptionSegment(
        id=0, seek=0, start=0.0, end=1.5, text="hi", tokens=[1, 2], temperature=0.0,
        avg_logprob=-0.2, compression_ratio=1.1, no_speech_prob=0.01,
    )  # fmt: skip
    verbose = Transcription(
        text="hi", task="transcribe", language="en", duration=1.5, segments=[segment]
    )
    check("CreateTranscriptionResponseVerboseJson", verbose.to_dict())
    check("CreateTranscriptionResponseJson", Transcription(text="hi").to_dict())
    check("ErrorResponse", openai_error(400, "field 'n' is 2").to_dict())


def test_subtitles() -> None:
    segments = [
        Segment(0.0, 1.5, "Hello there."),
        Segment(1.5, 3661.25, "Second\n\nline."),
        Segment(4000, 4001, " "),
    ]
    assert subtitles(segments, "srt") == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n"
        "2\n00:00:01,500 --> 01:01:01,250\nSecond\nline.\n"
    )
    assert subtitles(segments, "vtt") == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello there.\n\n"
        "00:00:01.500 --> 01:01:01.250\nSecond\nline.\n"
    )


def test_openapi_describes_the_v1_routes() -> None:
    from neira_jupyter.protocol import openapi
    from neira_jupyter.protocol.openapi import OPENAI_ROUTES
    from neira_jupyter.server.routes import OPENAI_HANDLERS

    paths = openapi()["paths"]
    assert {re.sub(r"\{\w+\}", "([^/]+)", r.path) for r in OPENAI_ROUTES} == set(OPENAI_HANDLERS)
    for route in OPENAI_ROUTES:
        operation = paths[f"/neira/v1/{route.path}"][route.method]
        error = operation["responses"]["401"]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/OpenAIError"}
    chat = paths["/neira/v1/chat/completions"]["post"]
    assert "text/event-stream" in chat["responses"]["200"]["content"]
    form = paths["/neira/v1/audio/transcriptions"]["post"]["requestBody"]["content"]
    assert {"file", "model", "timestamp_granularities"} <= set(
        form["multipart/form-data"]["schema"]["properties"]
    )
