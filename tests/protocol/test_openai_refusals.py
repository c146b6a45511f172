"""The OpenAI-compatible request models refuse what they cannot serve, naming the field.

Each refused body (chat, text completion, transcription form) must give a
``ProtocolError`` whose OpenAI error names the offending ``param`` and says
why; the error kinds per HTTP status, and JSON nested deeper than
``MAX_JSON_DEPTH``, are checked here too. What the models accept is in
``test_openai_requests.py``, the answers they build in ``test_openai_answers.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from neira_jupyter.protocol import GenerateRequest, ProtocolError, parse
from neira_jupyter.protocol.base import MAX_JSON_DEPTH, parse_tagged
from neira_jupyter.protocol.generate import CancelMessage
from neira_jupyter.protocol.openai import ChatCompletionRequest, CompletionRequest, openai_error
from neira_jupyter.protocol.openai_audio import TranscriptionRequest
from tests.support.prompts import USER

FUNCTION = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


@pytest.mark.parametrize(
    ("model", "body", "param", "words"),
    [
        (ChatCompletionRequest, {"model": "m", "messages": []}, "messages", "at least 1"),
        (ChatCompletionRequest, {"model": "m", "messages": USER, "n": 17}, "n", "at most 16"),
        (ChatCompletionRequest, {"model": "m", "messages": USER, "stop": ["a"] * 9}, "stop", "8"),
        (ChatCompletionRequest, {"model": "m", "messages": USER, "stop": ""}, "stop[0]", "1"),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": USER, "tools": [{}]},
            "tools[0].type",
            "required",
        ),
        (
            ChatCompletionRequest,
            {
                "model": "m",
                "messages": USER,
                "tools": [{"type": "custom", "custom": {"name": "x"}}],
            },
            "tools[0].custom",
            "unknown",
        ),
        (
            ChatCompletionRequest,
            {
                "model": "m",
                "messages": USER,
                "tools": [FUNCTION],
                "tool_choice": {"type": "function", "function": {"name": "g"}},
            },
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
        (
            ChatCompletionRequest,
            {"model": "m", "messages": [{"role": "user"}]},
            "messages[0]",
            "'content' is required",
        ),
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
        (
            CompletionRequest,
            {"model": "m", "prompt": "a", "suffix": "x", "echo": True},
            "echo",
            "gap",
        ),
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
