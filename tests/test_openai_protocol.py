"""The OpenAI-compatible request models: what they accept, what they refuse, and the error shape."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from neira_jupyter.protocol import ProtocolError, parse
from neira_jupyter.protocol.openai import (
    ChatCompletionRequest,
    CompletionRequest,
    TranscriptionRequest,
    openai_error,
)
from neira_jupyter.protocol.openai_answers import ChatCompletionChunk

USER = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("model", "body", "param", "words"),
    [
        (ChatCompletionRequest, {"model": "m", "messages": []}, "messages", "at least 1"),
        (ChatCompletionRequest, {"model": "m", "messages": USER, "n": 2}, "n", "n=1"),
        (ChatCompletionRequest, {"model": "m", "messages": USER, "stop": ["a"] * 9}, "stop", "8"),
        (ChatCompletionRequest, {"model": "m", "messages": USER, "stop": ""}, "stop[0]", "1"),
        (ChatCompletionRequest, {"model": "m", "messages": USER, "tools": []}, "tools", "unknown"),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "temperature": 3},
            "temperature",
            "2",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "presence_penalty": 0.5},
            "presence_penalty",
            "not supported",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "logprobs": True},
            "logprobs",
            "not supported",
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
            "messages[0].role",
            "'tool'",
        ),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": [{"role": "user", "content": "\x00"}]},
            "messages[0].content[0].text",
            "control character",
        ),
        (ChatCompletionRequest, {"model": "", "messages": USER}, "model", "at least 1"),
        (CompletionRequest, {"model": "m", "prompt": ["a", "b"]}, "prompt", "at most 1"),
        (CompletionRequest, {"model": "m", "prompt": "a", "echo": True}, "echo", "not supported"),
        (TranscriptionRequest, {"model": "w", "language": "de"}, "language", "ru, en"),
        (
            TranscriptionRequest,
            {"model": "w", "response_format": "srt"},
            "response_format",
            "'json'",
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
