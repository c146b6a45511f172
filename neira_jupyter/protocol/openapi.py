"""The OpenAPI 3.1 description of every route, and the JSON Schema of every message.

Both are generated from the models in this package: ``openapi()`` is served
at ``GET api/openapi.json``; ``json_schema()`` is checked in as
``schema.json`` (the TypeScript types in ``labextension/src/protocol.ts`` are
generated from it) and a test fails when either drifts. The OpenAI-compatible
routes under ``neira/v1/`` (``OPENAI_ROUTES``) are in ``openapi()`` too, with
their own request and answer models and OpenAI's error shape, but not in
``schema.json``: OpenAI's API reference describes them to clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from .base import API_PREFIX, ErrorBody, ErrorEvent, RequestModel
from .complete import CompleteRequest
from .generate import (
    CancelMessage,
    DoneEvent,
    GenerateClientMessage,
    GenerateEvent,
    GenerateMessage,
    GenerateRequest,
    GenerateResult,
    StartEvent,
    TokenEvent,
)
from .openai import OPENAI_PREFIX, ChatCompletionRequest, CompletionRequest, OpenAIError
from .openai_answers import (
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    ModelCard,
    ModelList,
    Transcription,
)
from .openai_audio import SUBTITLE_TYPES, TranscriptionRequest
from .openai_embeddings import EmbeddingList, EmbeddingRequest
from .openai_response_objects import ResponseDeleted, ResponseObject, ResponseStreamEvent
from .openai_responses import ResponseRequest
from .speech import (
    CorrectDoneEvent,
    CorrectedMessage,
    CorrectEvent,
    CorrectRequest,
    CorrectResult,
    FinalMessage,
    PartialMessage,
    StartedMessage,
    StreamCancel,
    StreamControl,
    StreamMessage,
    StreamStart,
    StreamStop,
    TranscribedEvent,
    TranscribeDoneEvent,
    TranscribeEvent,
    TranscribeOptions,
    TranscribeResult,
)
from .status import StatusDocument

SCHEMA_ID = "https://github.com/neira-jupyter/neira-jupyter/protocol/schema.json"

MESSAGES: tuple[type[BaseModel], ...] = (
    ErrorBody,
    ErrorEvent,
    StatusDocument,
    GenerateRequest,
    GenerateMessage,
    CancelMessage,
    StartEvent,
    TokenEvent,
    DoneEvent,
    GenerateResult,
    CompleteRequest,
    TranscribeOptions,
    TranscribeResult,
    TranscribedEvent,
    TranscribeDoneEvent,
    CorrectRequest,
    CorrectResult,
    CorrectDoneEvent,
    StreamStart,
    StreamStop,
    StreamCancel,
    StartedMessage,
    PartialMessage,
    CorrectedMessage,
    FinalMessage,
)
"""Every message of the API, in the order the schema lists them."""

UNIONS: dict[str, tuple[Any, JsonSchemaMode]] = {
    "GenerateEvent": (GenerateEvent, "serialization"),
    "GenerateClientMessage": (GenerateClientMessage, "validation"),
    "StreamControl": (StreamControl, "validation"),
    "StreamMessage": (StreamMessage, "serialization"),
    "CorrectEvent": (CorrectEvent, "serialization"),
    "TranscribeEvent": (TranscribeEvent, "serialization"),
}
"""Tagged unions (by ``type``) of what a stream or socket carries: a client's messages are
described as the server validates them, the server's as it sends them."""


@dataclass(frozen=True)
class Route:
    """One route under ``{base_url}neira/api/``."""

    method: str
    path: str
    summary: str
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    query: type[BaseModel] | None = None
    stream: str | None = None
    socket: tuple[str, str] | None = None  # (client -> server, server -> client) union names
    errors: tuple[int, ...] = field(default=(400, 403))
    prefix: str = API_PREFIX
    error: str = "ErrorBody"


ROUTES: tuple[Route, ...] = (
    Route("get", "status", "Models, route, memory pressure and queue.", response=StatusDocument,
          errors=(403,)),
    Route("post", "generate", "Generate text: a stream of events, or one document.",
          request=GenerateRequest, response=GenerateResult, stream="GenerateEvent",
          errors=(400, 403, 404, 409, 413, 429, 503)),
    Route("get", "generate/ws", "WebSocket: generate messages in, generation events out.",
          status=101, socket=("GenerateClientMessage", "GenerateEvent"), errors=(400, 403, 429)),
    Route("post", "complete", "Complete code at the cursor (fill-in-the-middle), streamed.",
          request=CompleteRequest, response=GenerateResult, stream="GenerateEvent",
          errors=(400, 403, 404, 409, 413, 429, 503)),
    Route("delete", "requests/{request_id}", "Cancel a queued or running request of yours.",
          status=204, errors=(403, 404)),
    Route("post", "transcribe",
          "Audio in: raw transcript, corrected text, what changed; or a stream of events.",
          query=TranscribeOptions, response=TranscribeResult, stream="TranscribeEvent",
          errors=(400, 403, 413, 429, 503)),
    Route("get", "transcribe/stream",
          "WebSocket: live 16 kHz s16le PCM in, partial and final transcripts out.",
          status=101, socket=("StreamControl", "StreamMessage"), errors=(400, 403, 429)),
    Route("post", "correct", "Correct a transcript: one document, or a stream of events.",
          request=CorrectRequest, response=CorrectResult, stream="CorrectEvent",
          errors=(400, 403, 413, 429, 503)),
    Route("get", "openapi.json", "This description.", errors=(403,)),
)  # fmt: skip


_V1_ERRORS = (400, 401, 403, 404, 413, 429, 503)

OPENAI_ROUTES: tuple[Route, ...] = (
    Route("get", "models", "The models a request may name.", response=ModelList,
          prefix=OPENAI_PREFIX, error="OpenAIError", errors=(401, 403)),
    Route("get", "models/{model}", "One model.", response=ModelCard, prefix=OPENAI_PREFIX,
          error="OpenAIError", errors=(401, 403, 404)),
    Route("post", "chat/completions", "A chat completion: one document, or SSE chunks.",
          request=ChatCompletionRequest, response=ChatCompletion, stream="ChatCompletionChunk",
          prefix=OPENAI_PREFIX, error="OpenAIError", errors=_V1_ERRORS),
    Route("post", "completions", "A text completion: one document, or SSE chunks.",
          request=CompletionRequest, response=Completion, stream="Completion",
          prefix=OPENAI_PREFIX, error="OpenAIError", errors=_V1_ERRORS),
    Route("post", "audio/transcriptions", "Audio in (multipart 'file'), its transcript out.",
          request=TranscriptionRequest, response=Transcription, prefix=OPENAI_PREFIX,
          error="OpenAIError", errors=_V1_ERRORS),
    Route("post", "responses", "A response (Responses API): one document, or SSE events.",
          request=ResponseRequest, response=ResponseObject, stream="ResponseStreamEvent",
          prefix=OPENAI_PREFIX, error="OpenAIError", errors=_V1_ERRORS),
    Route("get", "responses/{response_id}", "One of your stored responses.",
          response=ResponseObject, prefix=OPENAI_PREFIX, error="OpenAIError",
          errors=(401, 403, 404)),
    Route("delete", "responses/{response_id}", "Forget one of your stored responses.",
          response=ResponseDeleted, prefix=OPENAI_PREFIX, error="OpenAIError",
          errors=(401, 403, 404)),
    Route("post", "embeddings", "Vectors of strings or token arrays (the embedding model).",
          request=EmbeddingRequest, response=EmbeddingList, prefix=OPENAI_PREFIX,
          error="OpenAIError", errors=_V1_ERRORS),
)  # fmt: skip
"""The OpenAI-compatible routes under ``{base_url}neira/v1/`` (docs/openai.md)."""

OPENAI_MESSAGES: tuple[type[BaseModel], ...] = (
    ChatCompletionRequest,
    CompletionRequest,
    TranscriptionRequest,
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    ModelList,
    ModelCard,
    Transcription,
    OpenAIError,
    ResponseRequest,
    EmbeddingRequest,
    EmbeddingList,
    ResponseObject,
    ResponseDeleted,
)
"""The models of ``OPENAI_ROUTES``: in ``openapi()`` only, not in ``schema.json``."""

OPENAI_UNIONS: dict[str, tuple[Any, JsonSchemaMode]] = {
    "ResponseStreamEvent": (ResponseStreamEvent, "serialization"),
}
"""The stream events of ``OPENAI_ROUTES`` (tagged by ``type``), in ``openapi()`` only."""


def _mode(model: type[BaseModel]) -> JsonSchemaMode:
    """Requests are described as they are validated; answers as they are sent."""
    inputs = issubclass(model, RequestModel) or model in (TranscribeOptions, TranscriptionRequest)
    return "validation" if inputs else "serialization"


def _components(ref_template: str, openai: bool = False) -> dict[str, Any]:
    """JSON Schemas of every message and union, with ``$ref``s in ``ref_template`` form
    (with ``openai``, those of the ``neira/v1/`` routes too)."""
    models = MESSAGES + (OPENAI_MESSAGES if openai else ())
    _, top = models_json_schema(
        [(model, _mode(model)) for model in models], ref_template=ref_template
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    for name, (union, mode) in (UNIONS | (OPENAI_UNIONS if openai else {})).items():
        schema = TypeAdapter(union).json_schema(ref_template=ref_template, mode=mode)
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = {"title": name, **schema}
    return {name: _untitled(schemas[name], top=True) for name in sorted(schemas)}


def _untitled(schema: Any, top: bool = False) -> Any:
    """The schema without the titles pydantic gives every property (kept on definitions),
    so generated TypeScript names each message once instead of every field."""
    if isinstance(schema, list):
        return [_untitled(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "title" and not top:
            continue
        if key == "properties":
            out[key] = {name: _untitled(prop) for name, prop in value.items()}
        else:
            out[key] = _untitled(value) if key != "default" else value
    return out


def json_schema() -> dict[str, Any]:
    """One JSON Schema (2020-12) whose ``$defs`` hold every message of the API."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "NeiraProtocol",
        "description": "Every message of the neira-jupyter API (docs/api.md).",
        "$defs": _components("#/$defs/{model}"),
    }


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": route.summary,
        "operationId": f"{route.method}_{route.path}".replace("/", "_").replace(".", "_")
        .replace("{", "").replace("}", ""),
        "security": [{"token": []}],
        "responses": {},
    }  # fmt: skip
    responses: dict[str, Any] = op["responses"]
    if route.request is not None:
        op["requestBody"] = {"required": True, "content": _json(route.request.__name__)}
    if route.path == "audio/transcriptions":
        form = _untitled(TranscriptionRequest.model_json_schema(mode="validation"), top=True)
        form["properties"] = {"file": {"type": "string", "format": "binary"}, **form["properties"]}
        form["required"] = ["file", *form.get("required", [])]
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": form}}}
    if route.path == "transcribe":
        op["requestBody"] = {
            "required": True,
            "content": {
                "audio/*": {"schema": {"type": "string", "format": "binary"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"audio": {"type": "string", "format": "binary"}},
                        "required": ["audio"],
                    }
                },
            },
        }
    if route.query is not None:
        schema = route.query.model_json_schema()
        op["parameters"] = [
            {"name": name, "in": "query", "required": False, "schema": prop}
            for name, prop in schema["properties"].items()
        ]
    if "{request_id}" in route.path:
        op["parameters"] = [
            {"name": "request_id", "in": "path", "required": True,
             "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,64}$"}}
        ]  # fmt: skip
    for name in ("model", "response_id"):
        if f"{{{name}}}" in route.path:
            op["parameters"] = [
                {"name": name, "in": "path", "required": True,
                 "schema": {"type": "string", "minLength": 1, "pattern": r"^[^/]+$"}}
            ]  # fmt: skip
    if route.status == 101 and route.socket is not None:
        client, server = route.socket
        responses["101"] = {"description": "Switching protocols to a WebSocket."}
        op["x-websocket"] = {
            "client": {"$ref": f"#/components/schemas/{client}"},
            "server": {"$ref": f"#/components/schemas/{server}"},
        }
    elif route.status == 204:
        responses["204"] = {"description": "Done."}
    else:
        content = _json(route.response.__name__) if route.response else {
            "application/json": {"schema": {"type": "object"}}
        }  # fmt: skip
        if route.stream is not None:
            ref = {"$ref": f"#/components/schemas/{route.stream}"}
            if route.prefix == API_PREFIX:
                content["application/x-ndjson"] = {"itemSchema": ref}
            content["text/event-stream"] = {"itemSchema": ref}
        if route.path == "audio/transcriptions":
            text = {"schema": {"type": "string"}}
            content["text/plain"] = text
            content.update({kind.split(";")[0]: text for kind in SUBTITLE_TYPES.values()})
        responses["200"] = {"description": "OK", "content": content}
    for status in route.errors:
        responses[str(status)] = {"description": "Error", "content": _json(route.error)}
    return op


TOKEN_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": "Authorization",
    "description": "token <the server's token> (or the browser's cookie plus XSRF)",
}


def openapi(version: str = "0", server_url: str = "/") -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route, relative to ``server_url`` (the base URL)."""
    paths: dict[str, Any] = {}
    for route in ROUTES + OPENAI_ROUTES:
        paths.setdefault(f"/{route.prefix}{route.path}", {})[route.method] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "neira-jupyter",
            "version": version,
            "description": "Local LLM and speech recognition in the Jupyter server "
            "(docs/api.md). Every route needs Jupyter's authentication.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": _components("#/components/schemas/{model}", openai=True),
            "securitySchemes": {"token": TOKEN_SCHEME},
        },
    }
