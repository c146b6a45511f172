"""The protocol package: validation messages, and no drift between it and what is generated.

``schema.json`` and ``labextension/src/protocol.ts`` are generated from the
models and checked in; these tests fail when either is stale (the .ts
carries the sha256 of the schema it was generated from; ``make lint``
regenerates it with node and diffs it). ``docs/api.md`` must name every
route and every field.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from neira_jupyter.protocol import (
    MESSAGES,
    ROUTES,
    CorrectRequest,
    GenerateRequest,
    ProtocolError,
    StatusDocument,
    StreamStart,
    StreamStop,
    TranscribeOptions,
    json_schema,
    openapi,
    parse,
    parse_tagged,
)
from neira_jupyter.protocol.__main__ import render

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "neira_jupyter" / "protocol" / "schema.json"
TYPESCRIPT = REPO / "labextension" / "src" / "protocol.ts"
DOCS = REPO / "docs" / "api.md"
REGENERATE = (
    "python -m neira_jupyter.protocol > neira_jupyter/protocol/schema.json && "
    "(cd labextension && npm run build:protocol)"
)


def test_checked_in_schema_matches_the_models() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == render("schema"), f"stale; run: {REGENERATE}"


def test_typescript_was_generated_from_this_schema() -> None:
    sha = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
    banner = TYPESCRIPT.read_text(encoding="utf-8")[:400]
    assert f"schema sha256: {sha}" in banner, f"src/protocol.ts is stale; run: {REGENERATE}"
    for name in ("StatusDocument", "MemoryStatus", "PartialMessage", "FinalMessage", "DoneEvent"):
        assert f"export interface {name} " in TYPESCRIPT.read_text(encoding="utf-8")


def test_schemas_are_valid_json_schema() -> None:
    Draft202012Validator.check_schema(json_schema())
    document = openapi()
    assert document["openapi"].startswith("3.1")
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_openapi_describes_every_route() -> None:
    document = openapi()
    for route in ROUTES:
        operation = document["paths"][f"/neira/api/{route.path}"][route.method]
        assert operation["security"] == [{"token": []}]
        assert "403" in operation["responses"]
    for ref in re.findall(r'"#/components/schemas/([A-Za-z]+)"', json.dumps(document)):
        assert ref in document["components"]["schemas"], ref


def _fields(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[str]:
    """Every JSON field name of ``model`` and the models inside it."""
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(info.alias or name)
        for inner in _models_in(info.annotation):
            names |= _fields(inner, seen)
    return names


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def test_docs_name_every_route_and_field() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for route in ROUTES:
        kind = "WS" if route.status == 101 else route.method.upper()
        assert f"`{kind} api/{route.path}`" in docs, f"docs/api.md lacks {kind} api/{route.path}"
    seen: set[type[BaseModel]] = set()
    names = set().union(*(_fields(model, seen) for model in MESSAGES))
    missing = sorted(n for n in names if f"`{n}`" not in docs and f'"{n}"' not in docs)
    assert not missing, f"docs/api.md does not name these fields: {missing}"


@pytest.mark.parametrize(
    ("model", "body", "message"),
    [
        (GenerateRequest, b"{not json", "not valid JSON"),
        (GenerateRequest, b"[1, 2]", "must be a JSON object"),
        (GenerateRequest, b'{"prompt": "hi", "temperature": "hot"}', "field 'temperature'"),
        (GenerateRequest, b'{"prompt": "hi", "max_tokens": 0}', "field 'max_tokens'"),
        (GenerateRequest, b'{"prompt": "hi", "stream": 1}', "field 'stream' must be true or"),
        (GenerateRequest, b'{"messages": [{"role": "robot", "content": "x"}]}', "messages[0].role"),
        (GenerateRequest, b'{"prompt": "a", "messages": []}', "exactly one of"),
        (GenerateRequest, b'{"prompt": "a", "request_id": "a b"}', "field 'request_id'"),
        (GenerateRequest, b'{"prompt": "a", "top_p": 0}', "field 'top_p'"),
        (CorrectRequest, b'{"txt": "a", "zz": 1}', "unknown field(s): txt, zz"),
        (CorrectRequest, b"{}", "field 'text' is required"),
    ],
)
def test_validation_errors_name_the_field(
    model: type[BaseModel], body: bytes, message: str
) -> None:
    with pytest.raises(ProtocolError) as error:
        parse(model, body)
    assert message in str(error.value)


def test_form_options_and_tagged_messages() -> None:
    options = parse(TranscribeOptions, {"language": "", "correct": "false", "vad": "1"})
    assert (options.language, options.correct, options.vad) == ("auto", False, True)
    with pytest.raises(ProtocolError, match="field 'correct'"):
        parse(TranscribeOptions, {"correct": "maybe"})
    models: dict[str, type[StreamStart | StreamStop]] = {"start": StreamStart, "stop": StreamStop}
    assert isinstance(parse_tagged('{"type": "stop"}', models), StreamStop)
    with pytest.raises(ProtocolError, match="field 'type' must be start or stop"):
        parse_tagged('{"type": "dance"}', models)
    with pytest.raises(ProtocolError, match="field 'language'"):
        parse_tagged('{"type": "start", "language": "xx"}', models)


def test_answers_forbid_fields_they_do_not_define() -> None:
    with pytest.raises(ProtocolError, match="unknown field"):
        parse(StatusDocument, {"progress": 1})
