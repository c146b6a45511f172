"""Value types shared by the engine's modules: options, messages, results, model states."""

from __future__ import annotations

import enum
import json
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
ROLES: frozenset[str] = frozenset({"system", "user", "assistant", "tool"})


class ModelState(enum.StrEnum):
    """Lifecycle of a resident model."""

    UNLOADED = "unloaded"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


class Latency(enum.IntEnum):
    """A job's latency class; the queue and the batch loop serve a lower value first.

    ``URGENT``: someone waits for it now (a code completion, a stopped
    dictation's last correction). ``SEGMENT``: a live dictation's committed
    segment, corrected while the user goes on speaking. ``NORMAL``: the rest.
    """

    URGENT = 0
    SEGMENT = 1
    NORMAL = 2


@dataclass(frozen=True)
class ToolCall:
    """A call of one offered function: its id, name and arguments (a JSON object's text)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ChatMessage:
    """One message of a chat conversation.

    An assistant's message may carry the ``tool_calls`` it made; a ``tool``
    message is one call's result and names it by ``tool_call_id``.
    """

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The message as chat templates read it (a call's arguments as an object)."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": _arguments(call.arguments)},
                }
                for call in self.tool_calls
            ]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


def _arguments(text: str) -> Any:
    """A call's arguments as an object when they are JSON (templates render them as JSON)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass(frozen=True)
class ToolChoice:
    """The functions a generation may call (OpenAI's ``tools`` and ``tool_choice``).

    ``tools`` is the JSON text of the list of OpenAI function tools;
    ``required``: the answer must be a call; ``name``: it must call this one.
    """

    tools: str
    required: bool = False
    name: str | None = None

    @cached_property
    def offered(self) -> list[dict[str, Any]]:
        """The tools as the chat template takes them (parsed once)."""
        offered: list[dict[str, Any]] = json.loads(self.tools)
        return offered

    @property
    def functions(self) -> list[dict[str, Any]]:
        """Each offered tool's ``function`` object (name, description, parameters)."""
        return [tool["function"] for tool in self.offered]

    @cached_property
    def names(self) -> frozenset[str]:
        """The offered functions' names."""
        return frozenset(f["name"] for f in self.functions)


@dataclass(frozen=True)
class Infill:
    """A gap in code to fill (fill-in-the-middle): the code before the cursor and after it.

    ``context``: other code the gap may use (a notebook's other cells), laid out
    before ``prefix``; ``language`` names the code's language for an instruction
    prompt; ``max_lines``: the suggestion's lines at most (0: no limit). A
    generation with an ``Infill`` is a completion: its own latency class, ahead
    of other generations in the queue and the batch.
    """

    prefix: str
    suffix: str = ""
    context: tuple[str, ...] = ()
    language: str = "python"
    max_lines: int = 0


@dataclass(frozen=True)
class GenerationOptions:
    """Sampling options for one generation.

    ``json_schema``: the answer must be JSON following this JSON Schema (its
    JSON text; ``llm.grammar.ANY_OBJECT`` for any object), or None for free text.
    The penalties and ``logit_bias`` (token id, bias added to its logit) mean
    what OpenAI's fields of those names mean. ``logprobs``: None for none, else
    each token's log probability and this many likeliest alternatives. ``n``:
    how many answers (choices) to sample for the one prompt. ``tools``: the
    functions the model may call (None: none offered). ``infill``: fill this gap
    instead of answering the messages (fill-in-the-middle; always ``Latency.URGENT``).
    ``latency``: the generation's latency class in the queue and the batch. The
    defaults of ``max_tokens``, ``temperature`` and ``top_p`` are the engine's own
    (``NeiraApp.default_*`` take theirs from here).
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
    tools: ToolChoice | None = None
    infill: Infill | None = None
    latency: Latency = Latency.NORMAL

    @property
    def latency_class(self) -> Latency:
        """The class the generation waits in: a completion's is always ``URGENT``."""
        return Latency.URGENT if self.infill is not None else self.latency


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
    """Token counts of one generation; ``prompt_tokens_reused``: how many of the prompt's
    tokens were found in the model's cache (a prefix kept from an earlier request)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_tokens_reused: int = 0

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


FinishReason = Literal["stop", "length", "cancelled", "tool_calls"]


@dataclass
class GenerationResult:
    """The outcome of one generation: the text plus usage, timings and who served it.

    With ``GenerationOptions.n`` > 1 this is the first choice; ``others`` are the
    rest (their own text, finish reason and log probabilities), and
    ``usage.completion_tokens`` counts the tokens of every choice. An answer
    that calls functions has them in ``tool_calls`` (``finish_reason``
    ``tool_calls``) and any text before the calls in ``text``.
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
    tool_calls: list[ToolCall] = field(default_factory=list)


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
