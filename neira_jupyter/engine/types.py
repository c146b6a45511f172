"""Value types shared by the engine's modules: options, messages, results, model states."""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["system", "user", "assistant"]
ROLES: frozenset[str] = frozenset({"system", "user", "assistant"})


class ModelState(enum.StrEnum):
    """Lifecycle of a resident model."""

    UNLOADED = "unloaded"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class ChatMessage:
    """One message of a chat conversation."""

    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class GenerationOptions:
    """Sampling options for one generation.

    ``json_schema``: the answer must be JSON following this JSON Schema (its
    JSON text; ``llm.grammar.ANY_OBJECT`` for any object), or None for free text.
    The penalties and ``logit_bias`` (token id, bias added to its logit) mean
    what OpenAI's fields of those names mean. ``logprobs``: None for none, else
    each token's log probability and this many likeliest alternatives. ``n``:
    how many answers (choices) to sample for the one prompt.
    """

    max_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.95
    stop: tuple[str, ...] = ()
    seed: int | None = None
    json_schema: str | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: tuple[tuple[int, float], ...] = ()
    logprobs: int | None = None
    n: int = 1


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token: its text, natural-log probability and UTF-8 bytes, and the
    likeliest tokens at its position (``(text, logprob, bytes)``, likeliest first)."""

    token: str
    logprob: float
    bytes: tuple[int, ...]
    top: tuple[tuple[str, float, tuple[int, ...]], ...] = ()


@dataclass
class Usage:
    """Token counts of one generation."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class Timings:
    """Where the time of one generation went, in milliseconds."""

    queue_ms: float = 0.0
    first_token_ms: float | None = None
    total_ms: float = 0.0
    tokens_per_second: float | None = None
    prompt_ms: float | None = None  # evaluating the prompt, part of first_token_ms

    @property
    def start_ms(self) -> float | None:
        """Time to the first token beyond evaluating the prompt: what a slow model shows."""
        if self.first_token_ms is None:
            return None
        return max(0.0, self.first_token_ms - (self.prompt_ms or 0.0))


FinishReason = Literal["stop", "length", "cancelled"]


@dataclass
class GenerationResult:
    """The outcome of one generation: the text plus usage, timings and who served it.

    With ``GenerationOptions.n`` > 1 this is the first choice; ``others`` are the
    rest (their own text, finish reason and log probabilities), and
    ``usage.completion_tokens`` counts the tokens of every choice.
    """

    text: str
    model: str
    finish_reason: FinishReason
    usage: Usage = field(default_factory=Usage)
    timings: Timings = field(default_factory=Timings)
    route: str = "primary"
    route_reason: str = ""
    logprobs: list[TokenLogprob] | None = None
    others: list[GenerationResult] = field(default_factory=list)


class CancelToken:
    """A thread-safe flag that a model worker polls between tokens."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class EngineError(Exception):
    """Base class of engine errors; ``status`` is the HTTP status a server should answer."""

    status: int = 500


class BadRequest(EngineError):
    """The caller sent something the engine cannot use (bad audio, bad field)."""

    status = 400


class QueueFull(EngineError):
    """The scheduler's bounded queue is full; try again after ``retry_after`` seconds."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NoModelAvailable(EngineError):
    """No backend can serve the request (degraded mode)."""

    status = 503


class DuplicateRequest(EngineError):
    """The caller already has a live request with this ``request_id``."""

    status = 409


class ShuttingDown(EngineError):
    """The engine is stopping and takes no new work."""

    status = 503
