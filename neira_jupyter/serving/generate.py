"""Serving ``GenerateRequest``: protocol request -> engine generation -> protocol events.

``open_generation`` validates a request against the server's limits, turns
it into the engine's messages and options (the server's defaults fill what
the request leaves unset) and starts it; the returned ``StartedGeneration`` holds
the ``GenerationStart`` (routing, admission and id errors surface there, as
``EngineError``) and the engine's events after it. ``neira_events`` maps
those to the neira API's stream -- ``start``, ``token``... and ``done``, or
an in-band ``error`` -- and ``StartedGeneration.result`` drains them for a
non-streaming answer. ``check_format`` refuses a ``json_schema`` no grammar
can follow before anything starts. Nothing here knows HTTP: the handlers
(``server/generate.py``) and tests drive the same functions.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace
from typing import Any

from ..engine.generation import GenerationStart, run_to_result
from ..engine.llm import TokenChunk
from ..engine.llm.grammar import json_grammar
from ..engine.service import NeiraEngine
from ..engine.types import (
    BadRequest,
    ChatMessage,
    EngineError,
    GenerationOptions,
    GenerationResult,
    Infill,
    ToolCall,
    ToolChoice,
)
from ..protocol import ChatMessage as WireMessage
from ..protocol import GenerateRequest, TokenEvent, WireModel
from .errors import in_band_errors
from .limits import RequestLimits
from .wire import done_event, start_event

EngineEvents = AsyncGenerator[Any, None]
"""The engine's generation stream: a ``GenerationStart``, ``TokenChunk``s, one result."""


def engine_request(
    request: GenerateRequest, defaults: GenerationOptions, limits: RequestLimits
) -> tuple[tuple[ChatMessage, ...], GenerationOptions]:
    """The engine's messages and options for a validated request, within this server's limits."""
    messages = tuple(engine_message(m) for m in request.chat())
    total = sum(len(m.content) for m in messages)
    if total > limits.max_prompt_chars:
        raise BadRequest(
            f"the prompt is {total} characters long; the limit is {limits.max_prompt_chars}"
        )
    if request.max_tokens is not None and request.max_tokens > limits.max_tokens:
        raise BadRequest(
            f"field 'max_tokens' is {request.max_tokens}; this server allows at most "
            f"{limits.max_tokens}"
        )
    overrides: dict[str, Any] = {
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stop": tuple(request.stop) if request.stop is not None else None,
        "seed": request.seed,
        "json_schema": json.dumps(request.json_schema) if request.json_schema is not None else None,
        "presence_penalty": request.presence_penalty,
        "frequency_penalty": request.frequency_penalty,
        "logit_bias": tuple((int(t), b) for t, b in request.logit_bias.items())
        if request.logit_bias
        else None,
        "tools": tool_choice(request),
    }
    return messages, replace(defaults, **{k: v for k, v in overrides.items() if v is not None})


def check_infill(infill: Infill, limits: RequestLimits) -> None:
    """``BadRequest`` when a completion's code is longer than the prompt limit."""
    total = len(infill.prefix) + len(infill.suffix) + sum(len(c) for c in infill.context)
    if total > limits.max_prompt_chars:
        raise BadRequest(
            f"the code is {total} characters long; the limit is {limits.max_prompt_chars}"
        )


def engine_message(message: WireMessage) -> ChatMessage:
    """A protocol message as the engine's (a tool call's arguments kept as JSON text)."""
    calls = tuple(
        ToolCall(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or ()
    )
    return ChatMessage(message.role, message.content, calls, message.tool_call_id)


def tool_choice(request: GenerateRequest) -> ToolChoice | None:
    """The engine's ``ToolChoice`` for the request's ``tools`` and ``tool_choice``."""
    use = request.tool_use
    if use is None or request.tools is None:
        return None
    offered = json.dumps([tool.to_dict() for tool in request.tools], ensure_ascii=False)
    return ToolChoice(offered, *use)


async def check_format(
    request: GenerateRequest, schema_field: str = "response_format.json_schema.schema"
) -> None:
    """``BadRequest`` now, before any event, for a ``json_schema`` (or a forced tool's
    ``parameters``) no grammar can follow (converted in a thread: a schema's size is the
    client's; the grammar is cached for the engine). ``schema_field``: the request's field
    that held the schema, named in the error."""
    if request.json_schema is not None:
        await asyncio.to_thread(json_grammar, json.dumps(request.json_schema), schema_field)
    use = request.tool_use
    forced = use is not None and use[0]  # a forced call follows the parameters by a grammar
    for index, tool in enumerate(request.tools or [] if forced else []):
        if tool.function.parameters is not None:
            field = f"tools[{index}].function.parameters"
            await asyncio.to_thread(json_grammar, json.dumps(tool.function.parameters), field)


@dataclass
class StartedGeneration:
    """A started generation: who serves it (``start``) and the engine's events after it.

    ``aclose`` (always call it, e.g. in ``finally``) cancels the job when the
    events were not read to the end.
    """

    start: GenerationStart
    events: EngineEvents

    @property
    def request_id(self) -> str:
        return self.start.request_id

    async def result(self) -> GenerationResult:
        """Read the events to the end and return the result (an ``EngineError`` is raised)."""
        return await run_to_result(self.events)

    async def aclose(self) -> None:
        await self.events.aclose()


async def open_generation(
    engine: NeiraEngine,
    user: str,
    request: GenerateRequest,
    limits: RequestLimits,
    logprobs: int | None = None,
    n: int = 1,
    infill: Infill | None = None,
) -> StartedGeneration:
    """Start ``user``'s generation and wait for its start (an ``EngineError`` is raised).

    The OpenAI routes' options: ``logprobs``, each token's log probability and
    this many alternatives; ``n``, how many choices. ``infill``: a code
    completion, filling this gap instead of answering the request's messages.
    """
    messages, options = engine_request(request, engine.config.defaults, limits)
    if logprobs is not None or n != 1:
        options = replace(options, logprobs=logprobs, n=n)
    if infill is not None:
        check_infill(infill, limits)
        messages, options = (), replace(options, infill=infill)
    events = engine.generate(
        user, messages, options, model=request.model, request_id=request.request_id
    )
    try:
        first = await events.__anext__()
    except BaseException:
        await events.aclose()
        raise
    if not isinstance(first, GenerationStart):
        await events.aclose()
        raise EngineError(f"the engine began a generation with {type(first).__name__}")
    return StartedGeneration(first, events)


def wire_event(event: Any, request_id: str) -> WireModel:
    """One engine event (after the start) as a protocol event."""
    if isinstance(event, TokenChunk):
        return TokenEvent(text=event.text)
    return done_event(event, request_id)


async def neira_events(generation: StartedGeneration) -> AsyncGenerator[WireModel, None]:
    """The neira API's stream of a started generation: ``start``, ``token``..., ``done``.

    A failure after the start ends the stream with an ``error`` event (the
    answer's status is already sent), an unexpected one with status 500.
    """
    yield start_event(generation.start)
    async for event in in_band_errors(_wire_events(generation), "generation"):
        yield event


async def _wire_events(generation: StartedGeneration) -> AsyncGenerator[WireModel, None]:
    async for event in generation.events:
        yield wire_event(event, generation.request_id)
