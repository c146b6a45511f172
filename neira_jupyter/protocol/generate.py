"""``POST api/generate`` and ``WS api/generate/ws``: the request and the token stream.

A stream is ``start``, any number of ``token``, then ``done`` (or ``error``);
``stream: false`` answers with ``GenerateResult`` (``done`` without ``type``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from .base import ErrorEvent, RequestId, RequestModel, Text, WireModel
from .tools import MAX_TOOLS, CallId, FunctionTool, ToolCall, ToolChoiceOption, chosen

MAX_TOKENS_LIMIT = 8192
MAX_STOP_SEQUENCES = 8
MAX_SEED = 2**31 - 1
MAX_LOGIT_BIAS = 1024

Penalty = Annotated[float, Field(ge=-2.0, le=2.0)]
TokenId = Annotated[str, Field(pattern=r"^[0-9]{1,9}$")]
LogitBias = Annotated[
    dict[TokenId, Annotated[float, Field(ge=-100.0, le=100.0)]],
    Field(max_length=MAX_LOGIT_BIAS),
]

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "cancelled", "tool_calls"]
RouteName = Literal["primary", "fallback", "remote", "degraded"]


class ChatMessage(RequestModel):
    """One message of a conversation; a ``tool`` message is a call's result."""

    role: Role
    content: Text
    tool_calls: list[ToolCall] | None = Field(
        None, max_length=MAX_TOOLS, description="An assistant message's calls."
    )
    tool_call_id: CallId | None = Field(None, description="A tool message: the call it answers.")

    @model_validator(mode="after")
    def _tool_fields(self) -> ChatMessage:
        if self.tool_calls and self.role != "assistant":
            raise ValueError("only an assistant message carries 'tool_calls'")
        if (self.role == "tool") != (self.tool_call_id is not None):
            raise ValueError("a tool message, and only a tool message, names its 'tool_call_id'")
        return self


class GenerateRequest(RequestModel):
    """The body of ``POST api/generate``; unset sampling fields take the server's defaults."""

    prompt: Text | None = Field(None, description="The prompt; send this or messages.")
    messages: list[ChatMessage] | None = Field(None, description="A conversation.")
    system: Text | None = Field(None, description="Prepended as a system message.")
    model: str = Field("auto", description="A configured model name, or auto.")
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_LIMIT)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    stop: list[Annotated[Text, Field(min_length=1)]] | None = Field(
        None, max_length=MAX_STOP_SEQUENCES
    )
    seed: int | None = Field(None, ge=0, le=MAX_SEED)
    json_schema: dict[str, Any] | None = Field(
        None,
        description="The answer is JSON following this JSON Schema ({} for any JSON value).",
    )
    presence_penalty: Penalty | None = Field(
        None, description="Lowers the odds of a token once it appeared (OpenAI's meaning)."
    )
    frequency_penalty: Penalty | None = Field(
        None, description="Lowers the odds of a token by how often it appeared."
    )
    logit_bias: LogitBias | None = Field(
        None, description="Token id (a decimal string) -> bias added to its logit, -100..100."
    )
    tools: list[FunctionTool] | None = Field(
        None, max_length=MAX_TOOLS, description="Functions the model may call."
    )
    tool_choice: ToolChoiceOption | None = Field(
        None, description="none, auto (the default with tools), required, or a named function."
    )
    stream: bool = Field(True, description="Stream events (NDJSON/SSE) or answer once.")
    request_id: RequestId | None = Field(
        None, description="Chosen by the client so it can cancel; generated when unset."
    )

    @property
    def tool_use(self) -> tuple[bool, str | None] | None:
        """None when no tool may be called, else ``(required, name)`` (see ``tools.chosen``)."""
        return chosen(self.tools, self.tool_choice)

    @model_validator(mode="after")
    def _one_prompt(self) -> GenerateRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("send exactly one of 'prompt' or 'messages'")
        if self.prompt is not None and not self.prompt.strip():
            raise ValueError("field 'prompt' is empty")
        if self.messages is not None and not self.messages:
            raise ValueError("field 'messages' is empty")
        chosen(self.tools, self.tool_choice)  # a choice that does not fit the tools is an error
        return self

    def chat(self) -> list[ChatMessage]:
        """The whole conversation: the system message, then the prompt or messages."""
        out = [ChatMessage(role="system", content=self.system)] if self.system else []
        if self.prompt is not None:
            out.append(ChatMessage(role="user", content=self.prompt))
        out.extend(self.messages or [])
        return out


class GenerateMessage(GenerateRequest):
    """``WS api/generate/ws``: start a generation (the fields of ``GenerateRequest``)."""

    type: Literal["generate"]


class CancelMessage(RequestModel):
    """``WS api/generate/ws``: cancel the running generation."""

    type: Literal["cancel"]


class StartEvent(WireModel):
    """The request was accepted and a backend chosen."""

    type: Literal["start"] = "start"
    request_id: str
    model: str
    route: RouteName
    route_reason: str = ""


class TokenEvent(WireModel):
    """A piece of generated text."""

    type: Literal["token"] = "token"
    text: str


class Usage(WireModel):
    """Token counts; ``prompt_tokens_reused``: prompt tokens found in the model's cache."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_reused: int = 0


class GenerateTimings(WireModel):
    """Where the time went, in milliseconds."""

    queue_ms: float
    first_token_ms: float | None
    total_ms: float
    tokens_per_second: float | None


class GenerateResult(WireModel):
    """The whole answer: ``stream: false``'s body, and the ``done`` event without ``type``."""

    request_id: str
    text: str
    model: str
    finish_reason: FinishReason
    usage: Usage
    timings: GenerateTimings
    route: RouteName
    route_reason: str = ""
    tool_calls: list[ToolCall] = Field(
        default_factory=list, description="The calls the answer makes (finish_reason tool_calls)."
    )


class DoneEvent(GenerateResult):
    """The last event of a stream; ``text`` is the whole answer."""

    type: Literal["done"] = "done"


GenerateEvent = Annotated[
    StartEvent | TokenEvent | DoneEvent | ErrorEvent, Field(discriminator="type")
]
"""One line of a generation stream (NDJSON, SSE ``data:`` or a WebSocket message)."""

GenerateClientMessage = Annotated[GenerateMessage | CancelMessage, Field(discriminator="type")]
"""What a client sends on ``WS api/generate/ws``."""
