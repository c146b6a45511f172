"""The OpenAI-compatible API under ``{base_url}neira/v1/``: requests, answers and errors.

These models follow OpenAI's published shapes closely enough for the
``openai`` package, LangChain and jupyter-ai to use the server unchanged.
Requests are validated as strictly as ``GenerateRequest`` (same ``Text``
check, same bounds); a field this server cannot honour is accepted only at
its no-op value (``n`` 1, penalties 0, ``logprobs`` false), so a client never
gets a silently different answer. A chat or text completion becomes a
``GenerateRequest`` (``to_generate``); a text completion's prompt is sent as
one user message, so the chat template applies (the engine has no raw-prompt
path). The answers are in ``openai_answers``. None of these is part of
``schema.json``: OpenAI's own API reference describes them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from .base import LANGUAGES, RequestModel, Text, WireModel
from .generate import (
    MAX_SEED,
    MAX_STOP_SEQUENCES,
    MAX_TOKENS_LIMIT,
    ChatMessage,
    GenerateRequest,
)
from .speech import Flag, TranscribeOptions

OPENAI_PREFIX = "neira/v1/"
"""The OpenAI-compatible routes live under ``{base_url}neira/v1/``."""

MAX_MESSAGES = 512
MAX_CONTENT_PARTS = 64
MAX_NAME_CHARS = 256


def _listed(value: Any) -> Any:
    """A lone string as a list of one, so one list type validates both forms."""
    return [value] if isinstance(value, str) else value


def _text_parts(value: Any) -> Any:
    """Message content given as a string, as the one text part it stands for."""
    return [{"type": "text", "text": value}] if isinstance(value, str) else value


ModelName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)]
StopText = Annotated[Text, Field(min_length=1)]
StopList = Annotated[list[StopText], BeforeValidator(_listed), Field(max_length=MAX_STOP_SEQUENCES)]


class StreamOptions(RequestModel):
    """``stream_options``: ``include_usage`` adds a last chunk with usage and no choices."""

    include_usage: bool = False


class TextPart(RequestModel):
    """One part of a message's content; only text parts are understood."""

    type: Literal["text"]
    text: Text


class OpenAIChatMessage(RequestModel):
    """One message; ``developer`` counts as ``system``, ``name`` is accepted and unused."""

    role: Literal["system", "developer", "user", "assistant"]
    content: Annotated[
        list[TextPart], BeforeValidator(_text_parts), Field(max_length=MAX_CONTENT_PARTS)
    ] = Field(description="A string, or a list of text parts.")
    name: str | None = Field(None, max_length=MAX_NAME_CHARS)

    def as_chat(self) -> ChatMessage:
        role = "system" if self.role == "developer" else self.role
        return ChatMessage(role=role, content="".join(part.text for part in self.content))


class _CompletionFields(RequestModel):
    """What chat and text completions share: sampling, stop, stream, the no-op-only fields."""

    model: ModelName
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_LIMIT)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_LIMIT)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    stop: StopList | None = Field(None, description="A string or a list of strings.")
    seed: int | None = Field(None, ge=0, le=MAX_SEED)
    n: int | None = Field(None, description="Must be 1: one choice per request.")
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    presence_penalty: float | None = Field(None, description="Accepted only as 0.")
    frequency_penalty: float | None = Field(None, description="Accepted only as 0.")
    logprobs: bool | int | None = Field(None, description="Accepted only as false or null.")
    user: str | None = Field(None, max_length=MAX_NAME_CHARS, description="Accepted, unused.")

    @model_validator(mode="after")
    def _supported(self) -> _CompletionFields:
        if self.n not in (None, 1):
            raise ValueError(f"field 'n' is {self.n}; this server returns exactly one choice (n=1)")
        for name in ("presence_penalty", "frequency_penalty"):
            if getattr(self, name) not in (None, 0):
                raise ValueError(f"field '{name}' is not supported; send 0 or leave it out")
        if self.logprobs not in (None, False):
            raise ValueError("field 'logprobs' is not supported; send false or leave it out")
        if self.stream_options is not None and not self.stream:
            raise ValueError("field 'stream_options' is only allowed when 'stream' is true")
        both = self.max_tokens is not None and self.max_completion_tokens is not None
        if both and self.max_tokens != self.max_completion_tokens:
            raise ValueError("field 'max_tokens' differs from 'max_completion_tokens'; send one")
        return self

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage

    def chat(self) -> list[ChatMessage]:
        raise NotImplementedError

    def to_generate(self) -> GenerateRequest:
        """The same request as ``POST api/generate`` takes it (the model's name kept)."""
        return GenerateRequest(
            messages=self.chat(),
            model=self.model,
            max_tokens=self.max_completion_tokens or self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=self.stop,
            seed=self.seed,
            stream=bool(self.stream),
        )


class ChatCompletionRequest(_CompletionFields):
    """The body of ``POST v1/chat/completions``."""

    messages: Annotated[list[OpenAIChatMessage], Field(min_length=1, max_length=MAX_MESSAGES)]

    def chat(self) -> list[ChatMessage]:
        return [message.as_chat() for message in self.messages]


class CompletionRequest(_CompletionFields):
    """The body of ``POST v1/completions``: one prompt, sent as one user message."""

    prompt: Annotated[list[Text], BeforeValidator(_listed), Field(min_length=1, max_length=1)] = (
        Field(description="A string, or a list of exactly one string.")
    )
    echo: bool | None = Field(None, description="Accepted only as false.")

    @model_validator(mode="after")
    def _no_echo(self) -> CompletionRequest:
        if self.echo:
            raise ValueError("field 'echo' is not supported; send false or leave it out")
        return self

    def chat(self) -> list[ChatMessage]:
        return [ChatMessage(role="user", content=self.prompt[0])]


class TranscriptionRequest(WireModel):
    """The form fields of ``POST v1/audio/transcriptions`` (the audio is the ``file`` part)."""

    model: ModelName
    language: str | None = Field(None, max_length=16, description="en, ru or empty (detect).")
    response_format: Literal["json", "text", "verbose_json"] = "json"
    neira_correct: Flag = Field(
        False, description="Also correct the transcript with the LLM; 'text' is then corrected."
    )

    @model_validator(mode="after")
    def _known_language(self) -> TranscriptionRequest:
        if self.language not in (None, "", *LANGUAGES):
            known = ", ".join(code for code in LANGUAGES if code != "auto")
            raise ValueError(
                f"field 'language' is {self.language!r}; this server knows {known} "
                "(leave it out to detect)"
            )
        return self

    def options(self) -> TranscribeOptions:
        return TranscribeOptions(language=self.language or "auto", correct=self.neira_correct)


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
    "TranscriptionRequest",
    "openai_error",
]
