"""The extension's routes: every handler under ``{base_url}neira/api/``, then ``neira/v1/``."""

from __future__ import annotations

import re

from ..protocol import API_PREFIX, ROUTES
from ..protocol.openai import OPENAI_PREFIX
from ..protocol.openapi import OPENAI_ROUTES
from .complete import CompleteHandler
from .generate import CancelHandler, GenerateHandler, GenerateWebSocket
from .openai import (
    ChatCompletionsHandler,
    CompletionsHandler,
    ModelsHandler,
    UnknownRouteHandler,
)
from .openai_audio import TranscriptionsHandler
from .openai_embeddings import EmbeddingsHandler
from .openai_responses import ResponseHandler, ResponsesHandler
from .speech import CorrectHandler, TranscribeHandler, TranscribeStreamWebSocket
from .status import OpenAPIHandler, StatusHandler

HANDLERS: dict[str, type] = {
    "status": StatusHandler,
    "openapi.json": OpenAPIHandler,
    "generate": GenerateHandler,
    "generate/ws": GenerateWebSocket,
    "complete": CompleteHandler,
    "requests/{request_id}": CancelHandler,
    "transcribe": TranscribeHandler,
    "transcribe/stream": TranscribeStreamWebSocket,
    "correct": CorrectHandler,
}
"""The handler of each route path of ``protocol.ROUTES``."""

OPENAI_HANDLERS: dict[str, type] = {
    "models": ModelsHandler,
    "models/([^/]+)": ModelsHandler,
    "chat/completions": ChatCompletionsHandler,
    "completions": CompletionsHandler,
    "audio/transcriptions": TranscriptionsHandler,
    "responses": ResponsesHandler,
    "responses/([^/]+)": ResponseHandler,
    "embeddings": EmbeddingsHandler,
}
"""The OpenAI-compatible routes under ``{base_url}neira/v1/`` (docs/openai.md)."""


def handlers() -> list[tuple[str, type]]:
    """The extension's routes, relative to the server's base_url (one per protocol route)."""
    missing = {route.path for route in ROUTES} ^ set(HANDLERS)
    missing |= {re.sub(r"\{\w+\}", "([^/]+)", route.path) for route in OPENAI_ROUTES} ^ set(
        OPENAI_HANDLERS
    )
    if missing:
        raise RuntimeError(f"routes without a handler or a protocol entry: {sorted(missing)}")
    return (
        [
            # any id reaches the handler, so a malformed one gets the API's JSON 404, not a page
            (f"/{API_PREFIX}" + path.replace("{request_id}", "([^/]+)"), handler)
            for path, handler in HANDLERS.items()
        ]
        + [(f"/{OPENAI_PREFIX}{path}", handler) for path, handler in OPENAI_HANDLERS.items()]
        + [
            (f"/{OPENAI_PREFIX}(.*)", UnknownRouteHandler)  # last: OpenAI's JSON 404, not a page
        ]
    )
