"""The building blocks of every wire message: the model base classes, shared types, errors.

``WireModel`` forbids fields it does not define, so a message that drifts
from its definition fails validation on whichever side reads it.
``RequestModel`` is also strict (no "1" for 1, no 1 for true), as a JSON
body from a client should be. ``describe_error`` turns a pydantic
``ValidationError`` into one sentence that names the offending field.
JSON text is read with ``load_json``: a document nested deeper than
``MAX_JSON_DEPTH`` is a ``ProtocolError`` (a 400), never a ``RecursionError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

API_PREFIX = "neira/api/"
"""Every route lives under ``{base_url}neira/api/``."""

REQUEST_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
LANGUAGES: tuple[str, ...] = ("auto", "ru", "en")
Language = Literal["auto", "ru", "en"]
RequestId = Annotated[str, Field(pattern=REQUEST_ID_PATTERN)]

_ALLOWED_CONTROLS = frozenset("\t\n\r")


def check_text(value: str) -> str:
    """``value`` if it is text a model may read: no lone surrogates, no control characters.

    JSON can carry both (``"\\ud800"``, ``"\\u0000"``), but neither is text:
    a lone surrogate cannot be encoded to UTF-8 for the tokenizer, and control
    characters other than tab and line breaks only hide what a prompt says.
    """
    for index, char in enumerate(value):
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            raise ValueError(
                f"is not valid Unicode text: a lone surrogate (U+{code:04X}) at character {index}"
            )
        if (code < 0x20 or 0x7F <= code < 0xA0) and char not in _ALLOWED_CONTROLS:
            raise ValueError(
                f"contains the control character U+{code:04X} at character {index}; "
                "only tab, line feed and carriage return are allowed"
            )
    return value


Text = Annotated[str, AfterValidator(check_text)]
"""A string from a client that reaches a model: checked by ``check_text``."""


class WireModel(BaseModel):
    """A message on the wire: unknown fields are an error, names are the JSON names."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_serialization_defaults_required=True
    )

    def to_json(self) -> str:
        """The JSON text of this message (aliases applied, non-ASCII kept, ``json.dumps``
        spacing, as every answer had before the protocol models)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict of this message."""
        return self.model_dump(mode="json", by_alias=True)


class RequestModel(WireModel):
    """A request body: strict JSON types on top of ``WireModel``."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        strict=True,
        json_schema_serialization_defaults_required=True,
    )


class ErrorBody(WireModel):
    """The body of every 4xx/5xx answer (jupyter_server's ``APIHandler`` shape).

    ``reason`` and ``traceback`` may be absent (jupyter_server writes them only
    for some errors), so they are not required.
    """

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_serialization_defaults_required=False
    )

    message: str = Field(description="What went wrong, for the user.")
    reason: str | None = Field(None, description="A short reason, e.g. the error class.")
    traceback: str | None = Field(
        None, description="Only when the server runs with debug tracebacks on."
    )


class ErrorEvent(WireModel):
    """An error reported in-band on a stream or socket, after the answer began."""

    type: Literal["error"] = "error"
    status: int = Field(description="The HTTP status the error would have had.")
    message: str
    retry_after: int | None = Field(None, description="Seconds to wait, with status 429.")


class ProtocolError(ValueError):
    """A message that does not match its definition; the text names the field."""


_KIND_WORDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "model_type": "an object",
    "dict_type": "an object",
}


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("messages", 0, "role")`` as ``messages[0].role``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def describe_error(error: ValidationError) -> str:
    """One sentence about the first problem, naming the field (all unknown fields at once)."""
    errors = error.errors(include_url=False)
    unknown = [field_path(e["loc"]) for e in errors if e["type"] == "extra_forbidden"]
    if unknown:
        return f"unknown field(s): {', '.join(unknown)}"
    first = errors[0]
    kind, loc, ctx = first["type"], tuple(first["loc"]), first.get("ctx") or {}
    path = field_path(loc)
    if kind == "json_invalid":
        return f"the request body is not valid JSON: {ctx.get('error', first['msg'])}"
    if not loc and kind in ("model_type", "dict_type", "model_attributes_type"):
        return "the request body must be a JSON object"
    if kind == "missing":
        return f"field '{path}' is required"
    if kind == "value_error":
        message = str(ctx.get("error", first["msg"]))
        return f"field '{path}' {message}" if loc else message
    if kind in _KIND_WORDS:
        got = type(first.get("input")).__name__
        got = {"NoneType": "null", "dict": "object", "list": "list"}.get(got, got)
        return f"field '{path}' must be {_KIND_WORDS[kind]}, got {got}"
    message = str(first["msg"])
    message = message[0].lower() + message[1:] if message else message
    return f"field '{path}': {message}, got {first.get('input')!r}"


M = TypeVar("M", bound=BaseModel)

MAX_JSON_DEPTH = 64
"""How deeply arrays and objects may nest in a client's JSON (no message needs a tenth of it)."""


def json_depth(value: Any) -> int:
    """How deeply ``value``'s lists and dicts nest (0 for a scalar), walked without recursion."""
    deepest = 0
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth + 1)
        todo.extend((child, depth + 1) for child in item if isinstance(child, (dict, list)))
    return deepest


def load_json(data: str | bytes | bytearray) -> Any:
    """JSON text as Python values; ``ProtocolError`` when it is not JSON or nests too deeply.

    ``json.loads`` recurses once per level and raises ``RecursionError`` near
    1000; both that and anything past ``MAX_JSON_DEPTH`` are refused here, so
    no code downstream (validation, grammars) meets a document that deep.
    """
    try:
        value = json.loads(data)
    except RecursionError:
        value = None
    except ValueError as exc:  # json.JSONDecodeError, or bytes that are not UTF-8
        raise ProtocolError(f"the request body is not valid JSON: {exc}") from None
    else:
        if json_depth(value) <= MAX_JSON_DEPTH:
            return value
    raise ProtocolError(
        f"the request body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep"
    )


def parse(model: type[M], data: str | bytes | bytearray | Mapping[str, Any]) -> M:
    """Validate JSON text or a parsed object as ``model``; ``ProtocolError`` names the field."""
    try:
        if isinstance(data, Mapping):
            if json_depth(data) > MAX_JSON_DEPTH:
                raise ProtocolError(
                    f"the request nests arrays and objects more than {MAX_JSON_DEPTH} levels deep"
                )
            return model.model_validate(data)
        return model.model_validate(load_json(data))
    except ValidationError as exc:
        raise ProtocolError(describe_error(exc)) from None


def parse_tagged(data: str | bytes, models: Mapping[str, type[M]]) -> M:
    """Validate a JSON message whose ``type`` picks one of ``models``."""
    try:
        body = load_json(data)
    except ProtocolError as exc:
        raise ProtocolError(f"a message must be a JSON object: {exc}") from None
    kind = body.get("type") if isinstance(body, dict) else None
    if not isinstance(kind, str) or kind not in models:
        raise ProtocolError(f"field 'type' must be {' or '.join(models)}")
    return parse(models[kind], body)
