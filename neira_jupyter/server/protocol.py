"""Request validation and response encoding for the HTTP/WebSocket API (docs/api.md).

Pure functions: a body comes in as parsed JSON, a typed request or a
``BadRequest`` whose message names the offending field comes out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from ..engine.llm import TokenChunk
from ..engine.service import GenerationStart
from ..engine.types import ROLES, BadRequest, ChatMessage, GenerationOptions, GenerationResult

REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LANGUAGES = ("auto", "ru", "en")
MAX_STOP_SEQUENCES = 8
MAX_TOKENS_LIMIT = 8192


@dataclass(frozen=True)
class GenerateRequest:
    """A validated ``api/generate`` request."""

    messages: tuple[ChatMessage, ...]
    options: GenerationOptions
    model: str
    stream: bool
    request_id: str | None


def _field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise BadRequest(f"field '{name}' must be {what}, not a boolean")
    if not isinstance(value, kind):
        raise BadRequest(f"field '{name}' must be {what}, got {type(value).__name__}")
    return value


def _number(
    body: dict[str, Any], name: str, low: float, high: float, integer: bool = False
) -> Any:
    kind: type | tuple[type, ...] = int if integer else (int, float)
    value = _field(body, name, kind, "an integer" if integer else "a number")
    if value is not None and not low <= value <= high:
        raise BadRequest(f"field '{name}' must be between {low:g} and {high:g}, got {value}")
    return value


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def parse_generate(
    body: Any, defaults: GenerationOptions, max_chars: int
) -> GenerateRequest:
    """Validate an ``api/generate`` body (see docs/api.md for the fields)."""
    body = require_object(body)
    allowed = {
        "prompt", "messages", "system", "model", "max_tokens", "temperature",
        "top_p", "stop", "seed", "stream", "request_id", "type",
    }  # fmt: skip
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")

    messages: list[ChatMessage] = []
    system = _field(body, "system", str, "a string")
    if system:
        messages.append(ChatMessage("system", system))
    prompt = _field(body, "prompt", str, "a string")
    raw_messages = _field(body, "messages", list, "a list of {role, content} objects")
    if (prompt is None) == (raw_messages is None):
        raise BadRequest("send exactly one of 'prompt' or 'messages'")
    if prompt is not None:
        if not prompt.strip():
            raise BadRequest("field 'prompt' is empty")
        messages.append(ChatMessage("user", prompt))
    else:
        if not raw_messages:
            raise BadRequest("field 'messages' is empty")
        for index, item in enumerate(raw_messages):
            if not isinstance(item, dict) or set(item) - {"role", "content"}:
                raise BadRequest(f"messages[{index}] must be an object with 'role' and 'content'")
            role, content = item.get("role"), item.get("content")
            if role not in ROLES:
                roles = ", ".join(sorted(ROLES))
                raise BadRequest(f"messages[{index}].role must be one of {roles}")
            if not isinstance(content, str):
                raise BadRequest(f"messages[{index}].content must be a string")
            messages.append(ChatMessage(role, content))
    total = sum(len(m.content) for m in messages)
    if total > max_chars:
        raise BadRequest(f"the prompt is {total} characters long; the limit is {max_chars}")

    stop = _field(body, "stop", list, "a list of strings")
    if stop is not None and (
        len(stop) > MAX_STOP_SEQUENCES or not all(isinstance(s, str) and s for s in stop)
    ):
        raise BadRequest(f"field 'stop' must be at most {MAX_STOP_SEQUENCES} non-empty strings")

    overrides: dict[str, Any] = {
        "max_tokens": _number(body, "max_tokens", 1, MAX_TOKENS_LIMIT, integer=True),
        "temperature": _number(body, "temperature", 0.0, 2.0),
        "top_p": _number(body, "top_p", 0.0, 1.0),
        "stop": tuple(stop) if stop is not None else None,
        "seed": _number(body, "seed", 0, 2**31 - 1, integer=True),
    }
    if overrides["top_p"] == 0:
        raise BadRequest("field 'top_p' must be greater than 0")
    options = replace(defaults, **{k: v for k, v in overrides.items() if v is not None})

    model = _field(body, "model", str, "a string") or "auto"
    stream = _field(body, "stream", bool, "true or false")
    request_id = _field(body, "request_id", str, "a string")
    if request_id is not None and not REQUEST_ID.match(request_id):
        raise BadRequest("field 'request_id' must be 1-64 characters of A-Z, a-z, 0-9, _ or -")
    return GenerateRequest(
        messages=tuple(messages),
        options=options,
        model=model,
        stream=True if stream is None else stream,
        request_id=request_id,
    )


def parse_language(value: Any, field: str = "language") -> str:
    language = "auto" if value in (None, "") else value
    if language not in LANGUAGES:
        raise BadRequest(f"field '{field}' must be one of {', '.join(LANGUAGES)}, got {value!r}")
    return str(language)


def parse_flag(value: Any, field: str, default: bool) -> bool:
    """A boolean from JSON (true/false) or a form/query string (true/false/1/0)."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise BadRequest(f"field '{field}' must be true or false, got {value!r}")


def parse_correct(body: Any, max_chars: int) -> tuple[str, str]:
    """Validate an ``api/correct`` body; returns (text, language)."""
    body = require_object(body)
    unknown = sorted(set(body) - {"text", "language"})
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
    text = body.get("text")
    if not isinstance(text, str):
        raise BadRequest("field 'text' is required and must be a string")
    if len(text) > max_chars:
        raise BadRequest(f"field 'text' is {len(text)} characters long; the limit is {max_chars}")
    return text, parse_language(body.get("language"))


def event_to_dict(event: GenerationStart | TokenChunk | GenerationResult) -> dict[str, Any]:
    """The wire form of one generation event."""
    if isinstance(event, GenerationStart):
        return {
            "type": "start",
            "request_id": event.request_id,
            "model": event.model,
            "route": event.route,
            "route_reason": event.route_reason,
        }
    if isinstance(event, TokenChunk):
        return {"type": "token", "text": event.text}
    return {"type": "done", **event.to_dict()}


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False)
