"""The OpenAI-compatible API under ``{base_url}neira/v1/``: requests, answers and errors.

These models follow OpenAI's published shapes (openai/openai-openapi) for
the ``openai`` package, LangChain and jupyter-ai to use the server
unchanged. Every request field of the spec for the routes served is
declared: one that changes nothing here (``store``, ``metadata``,
``service_tier``, ``user``, ``prediction`` ...) is accepted and unused; one
this server cannot honour is accepted only at its no-op value (``n`` 1,
legacy ``functions`` only with ``function_call`` ``"none"`` ...), and any
other value is a ``ValueError`` that names the field and says why, so a
client never gets a silently different answer. ``SPEC_FIELDS`` lists the
spec's field names per route (a test checks it against the vendored spec).
Requests are validated as strictly as ``GenerateRequest`` (same ``Text``
check, same bounds). A chat or text completion becomes a ``GenerateRequest``
(``to_generate``); a text completion's prompt is sent as one user message,
so the chat template applies (the engine has no raw-prompt path), unless it
has a ``suffix``: then prompt and suffix are the code around a gap (``gap``)
that the model fills in its own fill-in-the-middle tokens. The
answers are in ``openai_answers``, the messages in ``openai_messages``, the
transcription form in ``openai_audio``. None of these is part of ``schema.json``: OpenAI's own API
reference describes them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from .base import RequestModel, Text, WireModel
from .generate import (
    MAX_SEED,
    MAX_STOP_SEQUENCES,
    MAX_TOKENS_LIMIT,
    ChatMessage,
    GenerateRequest,
    LogitBias,
    Penalty,
)
from .openai_messages import (
    MAX_NAME_CHARS,
    ModelName,
    OpenAIChatMessage,
    ResponseFormat,
    ResponseFormatJsonObject,
    ResponseFormatJsonSchema,
    StreamOptions,
    no_op,
)
from .tools import MAX_TOOLS, FunctionTool, ToolChoiceOption, chosen

OPENAI_PREFIX = "neira/v1/"
"""The OpenAI-compatible routes live under ``{base_url}neira/v1/``."""

MAX_MESSAGES = 512
MAX_CHOICES = 16


def _listed(value: Any) -> Any:
    """A lone string as a list of one, so one list type validates both forms."""
    return [value] if isinstance(value, str) else value


StopText = Annotated[Text, Field(min_length=1)]
StopList = Annotated[list[StopText], BeforeValidator(_listed), Field(max_length=MAX_STOP_SEQUENCES)]


Metadata = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=512)]],
    Field(max_length=16),
]


class _CompletionFields(RequestModel):
    """What chat and text completions share: sampling, stop, stream, the no-op-only fields."""

    model: ModelName
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_LIMIT)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    stop: StopList | None = Field(None, description="A string or a list of strings.")
    seed: int | None = Field(None, ge=0, le=MAX_SEED)
    n: int | None = Field(None, ge=1, le=128, description="Choices to sample, at most 16.")
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    logit_bias: LogitBias | None = Field(None, description="Token id -> bias, -100..100.")
    user: str | None = Field(None, max_length=MAX_NAME_CHARS, description="Accepted, unused.")

    @model_validator(mode="after")
    def _supported(self) -> _CompletionFields:
        if self.n is not None and self.n > MAX_CHOICES:
            raise ValueError(
                f"field 'n' is {self.n}; this server samples at most {MAX_CHOICES} choices"
            )
        if self.stream_options is not None and not self.stream:
            raise ValueError("field 'stream_options' is only allowed when 'stream' is true")
        return self

    @property
    def choices(self) -> int:
        return self.n or 1

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage

    @property
    def token_limit(self) -> int | None:
        return self.max_tokens

    def chat(self) -> list[ChatMessage]:
        raise NotImplementedError

    @property
    def json_schema(self) -> dict[str, Any] | None:
        return None

    @property
    def logprob_count(self) -> int | None:
        """None for no log probabilities, else how many alternatives each token lists."""
        return None

    def to_generate(self) -> GenerateRequest:
        """The same request as ``POST api/generate`` takes it (the model's name kept)."""
        return GenerateRequest(
            messages=self.chat(),
            model=self.model,
            max_tokens=self.token_limit,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=self.stop,
            seed=self.seed,
            json_schema=self.json_schema,
            presence_penalty=self.presence_penalty or None,
            frequency_penalty=self.frequency_penalty or None,
            logit_bias=self.logit_bias or None,
            stream=bool(self.stream),
        )


class ChatCompletionRequest(_CompletionFields):
    """The body of ``POST v1/chat/completions``."""

    messages: Annotated[list[OpenAIChatMessage], Field(min_length=1, max_length=MAX_MESSAGES)]
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_LIMIT)
    logprobs: bool | None = Field(None, description="Each token's log probability.")
    top_logprobs: int | None = Field(None, ge=0, le=20, description="And the likeliest ones.")
    response_format: ResponseFormat | None = Field(
        None, description="text, json_object or json_schema: the answer follows it."
    )
    tools: list[FunctionTool] | None = Field(
        None, max_length=MAX_TOOLS, description="Functions the model may call."
    )
    tool_choice: ToolChoiceOption | None = Field(
        None, description="none, auto (the default with tools), required, or a named function."
    )
    parallel_tool_calls: bool | None = Field(
        None, description="Accepted: a forced call is one call; with auto the model may make more."
    )
    functions: list[Any] | None = Field(None, description="Legacy: only with function_call 'none'.")
    function_call: Any = Field(None, description="Legacy: 'none', or 'auto' without functions.")
    store: bool | None = Field(None, description="Accepted, unused: nothing is stored.")
    metadata: Metadata | None = Field(None, description="Accepted, unused.")
    service_tier: str | None = Field(None, max_length=32, description="Accepted, unused.")
    safety_identifier: str | None = Field(None, max_length=64, description="Accepted, unused.")
    prompt_cache_key: str | None = Field(None, max_length=MAX_NAME_CHARS, description="Unused.")
    prompt_cache_options: dict[str, Any] | None = Field(None, description="Accepted, unused.")
    prompt_cache_retention: Literal["in_memory", "24h"] | None = Field(None, description="Unused.")
    prediction: Any = Field(None, description="Accepted, unused: it changes speed, not the answer.")
    modalities: list[Literal["text", "audio"]] | None = Field(None, description="Only ['text'].")
    audio: Any = Field(None, description="Refused: no audio output.")
    reasoning_effort: (
        Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"] | None
    ) = Field(None, description="Only 'none': the models do not reason.")
    verbosity: Literal["low", "medium", "high"] | None = Field(None, description="Only 'medium'.")
    web_search_options: Any = Field(None, description="Refused: no web search.")
    moderation: Any = Field(None, description="Refused: no moderation.")

    @model_validator(mode="after")
    def _chat_supported(self) -> ChatCompletionRequest:
        both = self.max_tokens is not None and self.max_completion_tokens is not None
        if both and self.max_tokens != self.max_completion_tokens:
            raise ValueError("field 'max_tokens' differs from 'max_completion_tokens'; send one")
        if self.top_logprobs and not self.logprobs:
            raise ValueError("field 'top_logprobs' needs 'logprobs': true")
        chosen(self.tools, self.tool_choice)
        allowed: tuple[Any, ...] = ("none",) if self.functions else ("none", "auto")
        legacy = "the legacy functions API is not served; send 'tools' instead"
        no_op("function_call", self.function_call, allowed, legacy)
        if self.functions and self.function_call != "none":
            raise ValueError(f"field 'functions' is not supported: {legacy}")
        no_op("modalities", self.modalities, (["text"],), "the answer is text only")
        no_op("audio", self.audio, (), "the answer is text only")
        no_op("reasoning_effort", self.reasoning_effort, ("none",), "the models do not reason")
        no_op("verbosity", self.verbosity, ("medium",), "the answer's length is the model's own")
        no_op("web_search_options", self.web_search_options, (), "there is no web search")
        no_op("moderation", self.moderation, (), "there is no moderation")
        return self

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def logprob_count(self) -> int | None:
        return (self.top_logprobs or 0) if self.logprobs else None

    @property
    def json_schema(self) -> dict[str, Any] | None:
        """The schema the answer follows: json_object's is any object (or its ``schema``,
        as llama.cpp's server takes it); json_schema's is its own (no schema: any JSON value)."""
        kind = self.response_format
        if isinstance(kind, ResponseFormatJsonObject):
            return kind.schema_ if kind.schema_ is not None else {"type": "object"}
        if isinstance(kind, ResponseFormatJsonSchema):
            return kind.json_schema.schema_ if kind.json_schema.schema_ is not None else {}
        return None

    def chat(self) -> list[ChatMessage]:
        return [message.as_chat() for message in self.messages]

    def to_generate(self) -> GenerateRequest:
        """``_CompletionFields.to_generate`` with the offered tools and the choice."""
        request = super().to_generate()
        request.tools, request.tool_choice = self.tools, self.tool_choice
        return request


class CompletionRequest(_CompletionFields):
    """The body of ``POST v1/completions``: one prompt, sent as one user message."""

    prompt: Annotated[list[Text], BeforeValidator(_listed), Field(min_length=1, max_length=1)] = (
        Field(description="A string, or a list of exactly one string.")
    )
    echo: bool | None = Field(None, description="The answer begins with the prompt.")
    best_of: int | None = Field(None, ge=0, le=20, description="Accepted only as 1 or n.")
    logprobs: int | None = Field(None, ge=0, le=5, description="The likeliest tokens listed.")
    suffix: Text | None = Field(
        None, description="The text after the gap: the answer fills the gap (fill-in-the-middle)."
    )

    @model_validator(mode="after")
    def _text_supported(self) -> CompletionRequest:
        if self.echo and self.logprobs is not None:
            raise ValueError("field 'echo' cannot go with 'logprobs': prompt tokens are not scored")
        no_op("best_of", self.best_of, (1, self.n or 1), "no choices are sampled to be dropped")
        if self.suffix and self.echo:
            raise ValueError("field 'echo' cannot go with 'suffix': the answer is the gap's text")
        return self

    @property
    def logprob_count(self) -> int | None:
        return self.logprobs

    @property
    def echoed(self) -> str:
        """What the answer's text begins with: the prompt with ``echo``, else nothing."""
        return self.prompt[0] if self.echo else ""

    def chat(self) -> list[ChatMessage]:
        return [ChatMessage(role="user", content=self.prompt[0])]

    @property
    def gap(self) -> tuple[str, str] | None:
        """With a ``suffix``: the code before and after the gap to fill, else None."""
        return (self.prompt[0], self.suffix) if self.suffix else None


SPEC_FIELDS: dict[str, type[RequestModel]] = {
    "CreateChatCompletionRequest": ChatCompletionRequest,
    "CreateCompletionRequest": CompletionRequest,
}
"""Which of our models stands for each request schema of OpenAI's spec."""


# -- errors --------------------------------------------------------------------------


class OpenAIErrorDetail(WireModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIError(WireModel):
    """Every 4xx/5xx answer under ``v1/``: ``{"error": {message, type, param, code}}``."""

    error: OpenAIErrorDetail


ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "permission_denied"),
    404: ("invalid_request_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    409: ("invalid_request_error", "conflict"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("requests", "rate_limit_exceeded"),
    503: ("server_error", "service_unavailable"),
}
"""OpenAI's error ``type`` and default ``code`` for each status (others: server_error)."""

_PARAM = re.compile(r"field '([A-Za-z_][\w.\[\]]*)'|unknown field\(s\): ([\w.\[\]]+)")


def openai_error(
    status: int, message: str, param: str | None = None, code: str | None = None
) -> OpenAIError:
    """The error body for ``status``; ``param`` defaults to the first field the message names."""
    kind, default_code = ERROR_KINDS.get(status, ("server_error", None))
    if param is None and (found := _PARAM.search(message)):
        param = found.group(1) or found.group(2)
    detail = OpenAIErrorDetail(message=message, type=kind, param=param, code=code or default_code)
    return OpenAIError(error=detail)


__all__ = [
    "OPENAI_PREFIX",
    "ChatCompletionRequest",
    "CompletionRequest",
    "OpenAIError",
    "openai_error",
]
