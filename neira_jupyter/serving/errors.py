"""Engine errors as protocol documents: neira's ``ErrorEvent`` and OpenAI's error body.

An ``EngineError`` carries its HTTP status and a message meant for the user;
``QueueFull`` (and ``QuotaExceeded``) adds ``retry_after``;
``OpenAIRequestError`` adds OpenAI's ``param`` and ``code``. The functions
here are the only place those fields become wire documents, whether the
error ends a stream in-band or becomes an HTTP answer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator

from ..engine.types import EngineError, QueueFull
from ..protocol import ErrorEvent, WireModel
from ..protocol.openai import OpenAIError, openai_error


class OpenAIRequestError(EngineError):
    """An error with OpenAI's ``param`` and ``code`` (an unknown model, a wrong kind)."""

    def __init__(self, status: int, message: str, param: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.param = param
        self.code = code


def retry_after(exc: EngineError) -> int | None:
    """Seconds the client should wait before trying again (a full queue, a quota), or None."""
    return exc.retry_after if isinstance(exc, QueueFull) else None


def error_event(exc: EngineError) -> ErrorEvent:
    """The in-band error message for an engine error (streams and sockets)."""
    return ErrorEvent(status=exc.status, message=str(exc), retry_after=retry_after(exc))


async def in_band_errors(
    events: AsyncGenerator[WireModel, None], what: str
) -> AsyncGenerator[WireModel, None]:
    """``events``, ended by an ``error`` event when they fail after the answer began: an
    engine error's own, anything else (logged) with status 500 and "``what`` failed"."""
    try:
        async for event in events:
            yield event
    except EngineError as exc:
        yield error_event(exc)
    except Exception as exc:
        logging.getLogger("neira_jupyter").exception("neira: %s failed", what)
        yield ErrorEvent(status=500, message=f"{what} failed: {exc}")
    finally:
        await events.aclose()


def openai_error_body(exc: EngineError, message: str | None = None) -> OpenAIError:
    """OpenAI's ``{"error": {message, type, param, code}}`` for an engine error;
    ``message`` replaces the error's own text."""
    text = str(exc) if message is None else message
    if isinstance(exc, OpenAIRequestError):
        return openai_error(exc.status, text, exc.param, exc.code)
    return openai_error(exc.status, text)
