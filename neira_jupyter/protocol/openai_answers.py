"""The answers of the OpenAI-compatible API (``neira/v1/``), in OpenAI's published shapes.

Chat completions and their stream chunks, text completions, the model list
and transcriptions. Every field OpenAI's spec requires is a field here with
no default left out of the JSON (``message.refusal`` is always sent, null;
every chunk choice has a ``delta``); ``tests/data/openai_spec.json``
holds the spec's response schemas and a test validates real answers against
them. ``neira`` (and ``neira_kind``, ``neira_correction``) are neira's
additions; OpenAI clients keep unknown fields (``model_extra``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_serializer

from .base import WireModel
from .generate import Usage
from .tools import FunctionCall, ToolCall

_OPTIONAL_FIELDS = ConfigDict(
    extra="forbid", populate_by_name=True, json_schema_serialization_defaults_required=False
)
"""For answers that leave out the fields they do not carry: only fields without a default
are required in their schema."""


class NeiraInfo(WireModel):
    """neira's extension to an answer: which request it was and which backend served it."""

    request_id: str
    route: str
    route_reason: str = ""


class AssistantMessage(WireModel):
    """The answer's message; ``refusal`` is required by the spec and always null here.
    ``tool_calls`` is sent only when the answer calls tools (then ``content`` may be null)."""

    role: Literal["assistant"] = "assistant"
    content: str | None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if out["tool_calls"] is None:
            del out["tool_calls"]
        return out


class TopLogprob(WireModel):
    """A token and its natural-log probability; ``bytes`` its UTF-8 bytes."""

    token: str
    logprob: float
    bytes: list[int] | None


class TokenLogprob(TopLogprob):
    """A generated token, and the likeliest tokens at its position."""

    top_logprobs: list[TopLogprob]


class ChatLogprobs(WireModel):
    """A chat choice's ``logprobs``: one entry per generated token."""

    content: list[TokenLogprob] | None
    refusal: list[TokenLogprob] | None = None


class TextLogprobs(WireModel):
    """A text completion's ``logprobs``, in the legacy completions shape."""

    tokens: list[str]
    token_logprobs: list[float]
    top_logprobs: list[dict[str, float]]
    text_offset: list[int]


class ChatChoice(WireModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: str
    logprobs: ChatLogprobs | None = None

    @field_serializer("message")
    def _message(self, message: AssistantMessage) -> dict[str, Any]:
        return message.to_dict()


class _Answer(WireModel):
    """What every completion answer and chunk carries."""

    id: str = Field(description="chatcmpl-<request_id> or cmpl-<request_id>.")
    created: int = Field(description="Unix time when the answer began.")
    model: str


class ChatCompletion(_Answer):
    """The answer of ``POST v1/chat/completions`` without ``stream``."""

    object: Literal["chat.completion"] = "chat.completion"
    choices: list[ChatChoice]
    usage: Usage
    neira: NeiraInfo


class ToolCallDelta(WireModel):
    """A stream's piece of a call: here always the whole call, in one chunk."""

    index: int = Field(description="Which call of the choice this is.")
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatDelta(WireModel):
    """What a chunk adds; fields left out of a chunk are not sent."""

    model_config = _OPTIONAL_FIELDS

    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class ChatChunkChoice(WireModel):
    index: int = 0
    delta: ChatDelta
    finish_reason: str | None = None
    logprobs: ChatLogprobs | None = None

    @field_serializer("delta")
    def _delta(self, delta: ChatDelta) -> dict[str, Any]:
        return delta.to_dict()


class ChatCompletionChunk(_Answer):
    """One SSE ``data:`` line of a streamed chat completion."""

    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    choices: list[ChatChunkChoice]
    usage: Usage | None = None


class TextChoice(WireModel):
    index: int = 0
    text: str
    finish_reason: str | None = None
    logprobs: TextLogprobs | None = None


class Completion(_Answer):
    """The answer of ``POST v1/completions``, and each chunk of its stream.

    A chunk leaves out ``usage`` and ``neira``; its ``finish_reason`` is null
    until the last one, as OpenAI sends it (the spec's schema, written for the
    whole answer, has no null there).
    """

    model_config = _OPTIONAL_FIELDS

    object: Literal["text_completion"] = "text_completion"
    choices: list[TextChoice]
    usage: Usage | None = None
    neira: NeiraInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        unset = {name for name in ("usage", "neira") if getattr(self, name) is None}
        return self.model_dump(mode="json", exclude=unset)


class ModelCard(WireModel):
    """One entry of ``GET v1/models``."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "neira"
    neira_kind: Literal["llm", "speech", "embedding"]


class ModelList(WireModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class TranscriptionSegment(WireModel):
    """A segment of ``verbose_json``, with Whisper's own decoding data for it."""

    id: int
    seek: int = Field(description="Where the 30 s window began, in 10 ms frames.")
    start: float
    end: float
    text: str
    tokens: list[int]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float


class TranscriptionWord(WireModel):
    """A word of ``verbose_json`` with ``timestamp_granularities`` ``word``."""

    word: str
    start: float
    end: float


class Transcription(WireModel):
    """``json`` and ``verbose_json`` transcriptions; ``neira_correction`` when asked for."""

    model_config = _OPTIONAL_FIELDS

    text: str
    task: Literal["transcribe"] | None = None
    language: str | None = None
    duration: float | None = None
    segments: list[TranscriptionSegment] | None = None
    words: list[TranscriptionWord] | None = None
    neira_correction: dict[str, Any] | None = Field(
        None, description="raw, corrected, degraded, reason, changes: as api/correct answers."
    )

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)
