"""The OpenAI-compatible request models: what they accept and the one request each becomes.

Chat and text completions become a ``GenerateRequest``, a transcription form
its options; every request field of OpenAI's spec
(``tests/data/openai_spec.json``) is declared, fields that change nothing
are accepted and ignored, and ``response_format`` becomes the JSON schema the
answer follows.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from neira_jupyter.protocol import ProtocolError, parse
from neira_jupyter.protocol.openai import SPEC_FIELDS, ChatCompletionRequest, CompletionRequest
from neira_jupyter.protocol.openai_audio import TranscriptionRequest
from neira_jupyter.protocol.openai_embeddings import EmbeddingRequest
from neira_jupyter.protocol.openai_responses import ResponseRequest
from tests.support.openai_spec import REQUEST_FIELDS
from tests.support.prompts import USER


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


def _declared(model: type[BaseModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


@pytest.mark.parametrize("spec_name", sorted(REQUEST_FIELDS))
def test_every_field_of_the_spec_is_declared(spec_name: str) -> None:
    models: dict[str, type[BaseModel]] = {
        **SPEC_FIELDS,
        "CreateTranscriptionRequest": TranscriptionRequest,
        "CreateResponse": ResponseRequest,
        "CreateEmbeddingRequest": EmbeddingRequest,
    }
    ours = models[spec_name]
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
