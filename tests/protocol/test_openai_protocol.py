"""The OpenAI-compatible request models: what they accept, what they refuse, and the error shape.

The spec's side is ``tests/data/openai_spec.json`` (cut from openai/openai-openapi):
every request field it names is declared here, and answers built by the
protocol models validate against its response schemas.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from neira_jupyter.engine.speech.whisper import Segment
from neira_jupyter.protocol import GenerateRequest, ProtocolError, parse
from neira_jupyter.protocol.base import MAX_JSON_DEPTH, parse_tagged
from neira_jupyter.protocol.generate import CancelMessage, Usage
from neira_jupyter.protocol.openai import (
    SPEC_FIELDS,
    ChatCompletionRequest,
    CompletionRequest,
    openai_error,
)
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
from neira_jupyter.protocol.openai_audio import TranscriptionRequest, subtitles
from tests.support.openai_spec import REQUEST_FIELDS, check

USER = [{"role": "user", "content": "hi"}]

FUNCTION = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


@pytest.mark.parametrize(
    ("model", "body", "param", "words"),
    [
        (ChatCompletionRequest, {"model": "m", "messages": []}, "messages", "at least 1"),
        (ChatCompletionRequest, {"model": "m", "messages": USER, "n": 17}, "n", "at most 16"),
        (ChatCompletionRequest, {"model": "m", "messages": USER, "stop": ["a"] * 9}, "stop", "8"),
        (ChatCompletionRequest, {"model": "m", "messages": USER, "stop": ""}, "stop[0]", "1"),
        (ChatCompletionRequest, {"model": "m", "messages": USER, "tools": [{}]}, "tools[0].type",
         "required"),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER,
             "tools": [{"type": "custom", "custom": {"name": "x"}}]},
            "tools[0].custom",
            "unknown",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "tools": [FUNCTION],
             "tool_choice": {"type": "function", "function": {"name": "g"}}},
            "tool_choice",
            "does not offer",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "tools": [FUNCTION, FUNCTION]},
            "tools",
            "same name",
        ),
        (ChatCompletionRequest, {"model": "m", "messages": USER, "gpt": 1}, "gpt", "unknown"),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "tool_choice": "required"},
            "tool_choice",
            "offers none",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "response_format": {"type": "xml"}},
            "response_format",
            "json_object",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "modalities": ["text", "audio"]},
            "modalities",
            "text only",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "reasoning_effort": "high"},
            "reasoning_effort",
            "do not reason",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "logit_bias": {"50256": -101}},
            "logit_bias.50256",
            "-100",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "top_logprobs": 2},
            "top_logprobs",
            "needs 'logprobs'",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "metadata": {"k": 1}},
            "metadata.k",
            "string",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "web_search_options": {}},
            "web_search_options",
            "web search",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "messages[0].content[0].type",
            "text only",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"id": "x"}]}]},
            "messages[0].tool_calls[0].function",
            "required",
        ),
        (ChatCompletionRequest, {"model": "m", "messages": [{"role": "user"}]}, "messages[0]",
         "'content' is required"),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "temperature": 3},
            "temperature",
            "2",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "presence_penalty": 2.5},
            "presence_penalty",
            "2",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "logprobs": True, "top_logprobs": 21},
            "top_logprobs",
            "20",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "stream_options": {}},
            "stream_options",
            "only allowed when 'stream' is true",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "max_tokens": 5, "max_completion_tokens": 6},
            "max_tokens",
            "send one",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": [{"role": "tool", "content": "x"}]},
            "messages[0]",
            "names its 'tool_call_id'",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": [{"role": "function", "content": "x", "name": "f"}]},
            "messages[0].role",
            "legacy",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": [{"role": "user", "content": "\x00"}]},
            "messages[0].content[0].text",
            "control character",
        ),
        (ChatCompletionRequest, {"model": "", "messages": USER}, "model", "at least 1"),
        (CompletionRequest, {"model": "m", "prompt": ["a", "b"]}, "prompt", "at most 1"),
        (
            CompletionRequest,
            {"model": "m", "prompt": "a", "echo": True, "logprobs": 1},
            "echo",
            "not scored",
        ),
        (CompletionRequest, {"model": "m", "prompt": "a", "best_of": 3}, "best_of", "dropped"),
        (CompletionRequest, {"model": "m", "prompt": "a", "suffix": "x"}, "suffix", "insert"),
        (CompletionRequest, {"model": "m", "prompt": "a", "logprobs": 6}, "logprobs", "5"),
        (TranscriptionRequest, {"model": "w", "language": "de"}, "language", "ru, en"),
        (
            TranscriptionRequest,
            {"model": "w", "response_format": "diarized_json"},
            "response_format",
            "diarization",
        ),
        (TranscriptionRequest, {"model": "w", "temperature": "0.5"}, "temperature", "greedy"),
        (TranscriptionRequest, {"model": "w", "prompt": "Ada"}, "prompt", "not supported"),
        (TranscriptionRequest, {"model": "w", "stream": "true"}, "stream", "WebSocket"),
        (TranscriptionRequest, {"model": "w", "include": ["logprobs"]}, "include", "not"),
        (
            TranscriptionRequest,
            {"model": "w", "languages": ["en", "ru"]},
            "languages",
            "one language",
        ),
        (
            TranscriptionRequest,
            {"model": "w", "timestamp_granularities": ["segment"]},
            "timestamp_granularities",
            "verbose_json",
        ),
        (
            TranscriptionRequest,
            {"model": "w", "chunking_strategy": "server_vad"},
            "chunking_strategy",
            "auto",
        ),
    ],
)
def test_refusals_name_the_param(
    model: type[BaseModel], body: dict[str, Any], param: str, words: str
) -> None:
    with pytest.raises(ProtocolError) as error:
        parse(model, body)
    detail = openai_error(400, str(error.value)).error
    assert detail.param == param, str(error.value)
    assert words in detail.message
    assert detail.type == "invalid_request_error"


def test_accepted_forms_become_one_generate_request() -> None:
    chat = parse(
        ChatCompletionRequest,
        {
            "model": "m",
            "messages": [
                {"role": "developer", "content": "be brief"},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                    "name": "ada",
                },
            ],
            "stop": "x",
            "max_completion_tokens": 9,
            "n": 1,
            "presence_penalty": 0,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    assert chat.include_usage
    generate = chat.to_generate()
    assert [(m.role, m.content) for m in generate.chat()] == [
        ("system", "be brief"),
        ("user", "ab"),
    ]
    assert generate.stop == ["x"]
    assert generate.max_tokens == 9
    assert generate.model == "m"
    assert chat.include_usage and generate.stream
    text = parse(CompletionRequest, {"model": "m", "prompt": ["say hi"]}).to_generate()
    assert [(m.role, m.content) for m in text.chat()] == [("user", "say hi")]
    assert text.stream is False
    form = parse(TranscriptionRequest, {"model": "w", "neira_correct": "true", "language": ""})
    assert form.options().correct and form.options().language == "auto"


def test_chunks_leave_out_what_a_delta_does_not_carry() -> None:
    chunk = ChatCompletionChunk.model_validate(
        {"id": "c", "created": 1, "model": "m", "choices": [{"delta": {"content": "x"}}]}
    )
    choice = chunk.to_dict()["choices"][0]
    assert choice["delta"] == {"content": "x"}
    assert choice["finish_reason"] is None


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (401, "authentication_error", "invalid_api_key"),
        (404, "invalid_request_error", "not_found"),
        (413, "invalid_request_error", "request_too_large"),
        (429, "requests", "rate_limit_exceeded"),
        (503, "server_error", "service_unavailable"),
        (500, "server_error", None),
    ],
)
def test_error_kinds(status: int, kind: str, code: str | None) -> None:
    body = openai_error(status, "x").to_dict()
    assert body == {"error": {"message": "x", "type": kind, "param": None, "code": code}}


def _declared(model: type[BaseModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


@pytest.mark.parametrize("spec_name", sorted(REQUEST_FIELDS))
def test_every_field_of_the_spec_is_declared(spec_name: str) -> None:
    ours = {**SPEC_FIELDS, "CreateTranscriptionRequest": TranscriptionRequest}[spec_name]
    spec = set(REQUEST_FIELDS[spec_name]) - {"file"}  # the audio is the multipart file part
    assert spec - _declared(ours) == set()


NO_OPS: dict[str, Any] = {
    "store": True,
    "metadata": {"team": "data"},
    "service_tier": "auto",
    "parallel_tool_calls": True,
    "response_format": {"type": "text"},
    "tool_choice": "none",
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
    "function_call": "none",
    "user": "ada",
    "safety_identifier": "ada",
    "prompt_cache_key": "k",
    "prompt_cache_options": {"ttl": "30m"},
    "prompt_cache_retention": "in_memory",
    "prediction": {"type": "content", "content": "hello"},
    "modalities": ["text"],
    "reasoning_effort": "none",
    "verbosity": "medium",
    "n": 1,
    "presence_penalty": 0,
    "frequency_penalty": 0.0,
    "logit_bias": {},
    "logprobs": False,
    "top_logprobs": 0,
    "audio": None,
    "moderation": None,
    "web_search_options": None,
    "stream": True,
    "stream_options": {"include_usage": False, "include_obfuscation": True},
}


def test_fields_that_change_nothing_are_accepted() -> None:
    plain = {"model": "m", "messages": USER, "stream": True}
    busy = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "hi", "name": "ada"},
            {"role": "assistant", "content": None, "refusal": "no", "tool_calls": []},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "still no"}]},
        ],
        **NO_OPS,
    }
    request = parse(ChatCompletionRequest, busy)
    assert not request.include_usage
    assert request.to_generate().tool_use is None  # tools offered with tool_choice none
    unused = {"messages", "tools", "tool_choice"}
    expected = parse(ChatCompletionRequest, plain).to_generate().model_dump(exclude=unused)
    assert request.to_generate().model_dump(exclude=unused) == expected
    assert [m.content for m in request.to_generate().chat()] == ["hi", "no", "still no"]
    assert set(NO_OPS) <= set(REQUEST_FIELDS["CreateChatCompletionRequest"])
    text = parse(
        CompletionRequest,
        {"model": "m", "prompt": "a", "best_of": 1, "echo": False, "suffix": "", "user": "u"},
    )
    assert text.to_generate().chat()[0].content == "a"
    form = parse(
        TranscriptionRequest,
        {
            "model": "whisper-1",
            "languages": ["ru"],
            "temperature": "0",
            "prompt": "",
            "include": [],
            "stream": "false",
            "chunking_strategy": "auto",
            "response_format": "verbose_json",
            "timestamp_granularities": ["segment"],
        },
    )
    assert form.options().language == "ru" and form.options().vad and form.verbose


def _nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_json_nested_too_deep_is_a_protocol_error(depth: int) -> None:
    deep: Any = []
    for _ in range(depth):
        deep = [deep]
    body = '{"model": "m", "messages": ' + "[" * depth + "]" * depth + "}"
    for model in (ChatCompletionRequest, GenerateRequest):
        with pytest.raises(ProtocolError, match="levels deep"):
            parse(model, body)
    with pytest.raises(ProtocolError, match="levels deep"):  # a parsed object too
        parse(ChatCompletionRequest, {"model": "m", "messages": USER, "prediction": deep})
    with pytest.raises(ProtocolError, match="levels deep"):
        parse_tagged(_nested(depth), {"cancel": CancelMessage})
    # what nests as deep as a message may is still read
    assert parse(ChatCompletionRequest, {"model": "m", "messages": USER, "prediction": 1})


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
    assert {r.path for r in OPENAI_ROUTES} == {
        p.replace("([^/]+)", "{model}") for p in OPENAI_HANDLERS
    }
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


def test_response_formats_become_the_schema_the_answer_follows() -> None:
    def schema(response_format: Any) -> Any:
        body = {"model": "m", "messages": USER, "response_format": response_format}
        return parse(ChatCompletionRequest, body).to_generate().json_schema

    assert schema({"type": "text"}) is None
    assert schema({"type": "json_object"}) == {"type": "object"}
    person = {"type": "object", "properties": {"a": {"type": "integer"}}}
    named = {"name": "person", "schema": person, "strict": True}
    assert schema({"type": "json_schema", "json_schema": named}) == person
    assert schema({"type": "json_schema", "json_schema": {"name": "any"}}) == {}
    with pytest.raises(ProtocolError, match=r"json_schema\.name"):
        schema({"type": "json_schema", "json_schema": {"name": "a b", "schema": person}})
