"""OpenAI's own response schemas (``tests/data/openai_spec.json``, cut from openai/openai-openapi
by ``scripts/vendor_openai_spec.py``) as JSON Schema validators.

The spec is OpenAPI 3.0-flavoured: ``nullable: true`` becomes ``anyOf [..., null]`` and
``#/components/schemas/X`` becomes ``#/$defs/X``; the rest is plain JSON Schema.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

DATA = Path(__file__).resolve().parents[1] / "data"
SPEC = json.loads((DATA / "openai_spec.json").read_text("utf-8"))
REQUEST_FIELDS: dict[str, list[str]] = SPEC["requests"]


def _json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator for the spec's schema ``name`` (e.g. ``CreateChatCompletionResponse``)."""
    defs = _json_schema(SPEC["schemas"])
    return Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": defs})


def check(name: str, document: Any) -> None:
    """Fail with every way ``document`` breaks the spec's schema ``name``."""
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator(name).iter_errors(document)
    ]
    assert not errors, f"{name}: {errors} in {json.dumps(document)[:1500]}"
