"""Cut the parts of OpenAI's OpenAPI description that the v1 tests check against.

    python scripts/vendor_openai_spec.py path/to/openai-openapi/openapi.json COMMIT

writes ``tests/data/openai_spec.json``: the response schemas of the routes
neira serves (with every schema they reference; the Responses API's stream
events one by one) and the field names of their request schemas, without
the spec's prose. The source is github.com/openai/openai-openapi.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

RESPONSES = (
    "CreateChatCompletionResponse",
    "CreateChatCompletionStreamResponse",
    "CreateCompletionResponse",
    "CreateTranscriptionResponseJson",
    "CreateTranscriptionResponseVerboseJson",
    "ListModelsResponse",
    "Model",
    "ErrorResponse",
    "CreateEmbeddingResponse",
    "Response",
    "ResponseCreatedEvent",
    "ResponseInProgressEvent",
    "ResponseCompletedEvent",
    "ResponseIncompleteEvent",
    "ResponseFailedEvent",
    "ResponseOutputItemAddedEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
)
REQUESTS = (
    "CreateChatCompletionRequest",
    "CreateCompletionRequest",
    "CreateTranscriptionRequest",
    "CreateResponse",
    "CreateEmbeddingRequest",
)
PROSE = ("description", "title", "example", "examples", "x-oaiMeta")
"""Keys that only document a schema: left out (unless they name a property)."""
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "openai_spec.json"


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if "$ref" in node else set()
        return found.union(*(_refs(v) for k, v in node.items() if k != "$ref"))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _without_prose(node: Any, properties: bool = False) -> Any:
    """``node`` without its documentation (``PROSE``); a ``properties`` map keeps its names."""
    if isinstance(node, list):
        return [_without_prose(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: _without_prose(value, key == "properties" and not properties)
        for key, value in node.items()
        if properties or key not in PROSE
    }


def _fields(schemas: dict[str, Any], name: str) -> list[str]:
    node, names = schemas[name], set()
    todo = [node]
    while todo:
        item = todo.pop()
        if "$ref" in item:
            todo.append(schemas[item["$ref"].rsplit("/", 1)[-1]])
        todo.extend(item.get("allOf", []))
        names.update(item.get("properties", {}))
    return sorted(names)


def main(spec_path: str, commit: str) -> None:
    schemas = json.loads(Path(spec_path).read_text(encoding="utf-8"))["components"]["schemas"]
    keep, todo = set(), list(RESPONSES)
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            todo.extend(_refs(schemas[name]) - keep)
    document = {
        "source": f"https://github.com/openai/openai-openapi/blob/{commit}/openapi.json",
        "requests": {name: _fields(schemas, name) for name in REQUESTS},
        "schemas": {name: _without_prose(schemas[name]) for name in sorted(keep)},
    }
    OUT.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:3])
