"""Serving ``CompleteRequest``: a code completion as a generation of the engine.

``open_code_completion`` turns the request into an ``Infill`` (the other
cells, the current cell around the cursor, the language; completions are
short: 64 tokens unless asked, greedy unless asked) and starts it through
``generate.open_generation``, so admission, quotas, fairness, limits and
cancellation are those of every generation; the engine makes it a
completion (its own latency class, the model's FIM tokens).

``Superseding`` keeps the running completion of each user's editor (the
request's ``stream_key``): a new completion cancels the one before it, so
typing on never leaves stale suggestions decoding. Nothing here knows HTTP.
"""

from __future__ import annotations

import uuid

from ..engine.service import NeiraEngine
from ..engine.types import Infill
from ..protocol import GenerateRequest
from ..protocol.complete import DEFAULT_COMPLETE_TOKENS, CompleteRequest
from .generate import StartedGeneration, open_generation
from .limits import RequestLimits

__all__ = ["Superseding", "open_code_completion"]


class Superseding:
    """The running completion of each (user, stream key): a newer one cancels it."""

    def __init__(self) -> None:
        self._live: dict[tuple[str, str], str] = {}

    def begin(self, engine: NeiraEngine, user: str, key: str, request_id: str) -> None:
        """``request_id`` is now the user's completion for ``key``; cancel the older one."""
        older = self._live.get((user, key))
        self._live[(user, key)] = request_id
        if older is not None and older != request_id:
            engine.cancel(older, user)

    def current(self, user: str, key: str) -> str | None:
        return self._live.get((user, key))

    def end(self, user: str, key: str, request_id: str) -> None:
        """The completion ended; forget it unless a newer one took its place."""
        if self._live.get((user, key)) == request_id:
            del self._live[(user, key)]


def infill_of(request: CompleteRequest) -> Infill:
    """The engine's ``Infill`` for a completion request."""
    return Infill(
        prefix=request.prefix,
        suffix=request.suffix,
        context=tuple(request.context),
        language=request.language,
        max_lines=request.max_lines,
    )


async def open_code_completion(
    engine: NeiraEngine,
    user: str,
    request: CompleteRequest,
    limits: RequestLimits,
    superseding: Superseding,
) -> StartedGeneration:
    """Start ``user``'s completion, cancelling their previous one for the same
    ``stream_key``; every refusal is raised as an ``EngineError`` before anything is sent."""
    request_id = request.request_id or uuid.uuid4().hex
    key = request.stream_key
    if key is not None:
        superseding.begin(engine, user, key, request_id)
    generate = GenerateRequest(
        prompt="code completion",  # replaced by the infill; the engine reads no messages
        model=request.model,
        max_tokens=request.max_tokens or DEFAULT_COMPLETE_TOKENS,
        temperature=request.temperature if request.temperature is not None else 0.0,
        stream=request.stream,
        request_id=request_id,
    )
    try:
        generation = await open_generation(
            engine, user, generate, limits, infill=infill_of(request)
        )
    except BaseException:
        if key is not None:
            superseding.end(user, key, request_id)
        raise
    if key is not None and superseding.current(user, key) != request_id:
        engine.cancel(request_id, user)  # a newer one began while this one was starting
    return generation
