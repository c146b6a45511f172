"""The messages of OpenAI's chat requests, and the request parts they share.

A message's roles and content parts (text read, anything else refused by
name), LiteLLM's ``cache_control`` hint, ``response_format`` and
``stream_options``: the pieces ``openai.ChatCompletionRequest`` and
``CompletionRequest`` are made of.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from .base import RequestModel, Text
from .generate import ChatMessage, Role
from .tools import MAX_TOOLS, CallId, ToolCall

MAX_CONTENT_PARTS = 64
MAX_NAME_CHARS = 256


def _text_parts(value: Any) -> Any:
    """Message content given as a string, as the one text part it stands for."""
    return [{"type": "text", "text": value}] if isinstance(value, str) else value


ModelName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)]


def no_op(name: str, value: Any, allowed: tuple[Any, ...], why: str) -> None:
    """Refuse ``value`` for field ``name`` unless it is null or one of ``allowed``."""
    if value is None or any(value == ok and type(value) is type(ok) for ok in allowed):
        return
    raise ValueError(f"field '{name}' is not supported: {why}")


class StreamOptions(RequestModel):
    """``stream_options``: ``include_usage`` adds a last chunk with usage and no choices."""

    include_usage: bool = False
    include_obfuscation: bool | None = Field(None, description="Accepted, unused (no padding).")


class CacheControl(RequestModel):
    """A prompt-caching hint (LiteLLM sends it for Jupyternaut); accepted, unused.

    This server keeps a prompt's evaluated prefix on its own, with or without the hint.
    """

    type: Literal["ephemeral"]
    ttl: str | None = Field(None, max_length=16)


class ContentPart(RequestModel):
    """One part of a message's content; text (and an assistant's refusal) is what a model reads."""

    type: Literal["text", "refusal", "image_url", "input_audio", "file"]
    text: Text | None = None
    refusal: Text | None = None
    image_url: Any = None
    input_audio: Any = None
    file: Any = None
    cache_control: CacheControl | None = None

    @field_validator("type")
    @classmethod
    def _readable(cls, kind: str) -> str:
        if kind not in ("text", "refusal"):
            raise ValueError(f"is {kind!r}; this server's models read text only")
        return kind

    @model_validator(mode="after")
    def _has_text(self) -> ContentPart:
        if getattr(self, self.type) is None:
            raise ValueError(f"field '{self.type}' is required in a {self.type!r} part")
        return self

    @property
    def words(self) -> str:
        return (self.text if self.type == "text" else self.refusal) or ""


class OpenAIChatMessage(RequestModel):
    """One message; ``developer`` counts as ``system``, ``name`` is accepted and unused.

    An assistant's ``refusal`` is read as its content when it has none. An
    assistant's ``tool_calls`` and ``tool`` messages (a call's result, naming
    its ``tool_call_id``) carry a tool-calling conversation; the legacy
    ``function`` messages and ``function_call``, and ``audio``, are refused.
    """

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: (
        Annotated[
            list[ContentPart], BeforeValidator(_text_parts), Field(max_length=MAX_CONTENT_PARTS)
        ]
        | None
    ) = Field(None, description="A string, or a list of text parts.")
    name: str | None = Field(None, max_length=MAX_NAME_CHARS)
    refusal: Text | None = None
    tool_calls: list[ToolCall] | None = Field(None, max_length=MAX_TOOLS)
    function_call: Any = None
    audio: Any = None
    tool_call_id: CallId | None = None
    cache_control: CacheControl | None = None

    @field_validator("role")
    @classmethod
    def _answerable(cls, role: str) -> str:
        if role == "function":
            raise ValueError("is 'function' (the legacy functions API); send tool messages")
        return role

    @model_validator(mode="after")
    def _readable(self) -> OpenAIChatMessage:
        no_op("function_call", self.function_call, (), "send tool_calls instead")
        no_op("audio", self.audio, (), "this server does not answer with audio")
        if self.content is None and self.role != "assistant":
            raise ValueError("field 'content' is required")
        if self.tool_calls and self.role != "assistant":
            raise ValueError("only an assistant message carries 'tool_calls'")
        if (self.role == "tool") != (self.tool_call_id is not None):
            raise ValueError("a tool message, and only a tool message, names its 'tool_call_id'")
        return self

    def as_chat(self) -> ChatMessage:
        role: Role = "user" if self.role in ("user", "function") else self.role  # type: ignore[assignment]
        if self.role in ("system", "developer"):
            role = "system"
        text = "".join(part.words for part in self.content or [])
        return ChatMessage(
            role=role,
            content=text or self.refusal or "",
            tool_calls=self.tool_calls,
            tool_call_id=self.tool_call_id,
        )


class JsonSchemaFormat(RequestModel):
    """``response_format.json_schema``: the schema the answer must follow."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class ResponseFormatText(RequestModel):
    type: Literal["text"]


class ResponseFormatJsonObject(RequestModel):
    """Any JSON object; with ``schema`` (llama.cpp server's form, which its clients send) an
    object that follows that schema."""

    type: Literal["json_object"]
    schema_: dict[str, Any] | None = Field(None, alias="schema")


class ResponseFormatJsonSchema(RequestModel):
    type: Literal["json_schema"]
    json_schema: JsonSchemaFormat


ResponseFormat = Annotated[
    ResponseFormatText | ResponseFormatJsonObject | ResponseFormatJsonSchema,
    Field(discriminator="type"),
]
