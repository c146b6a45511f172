"""``python -m neira_jupyter.protocol [schema|openapi]``: print the JSON Schema or OpenAPI."""

from __future__ import annotations

import json
import sys

from . import json_schema, openapi


def render(kind: str) -> str:
    """The document as checked-in text (keys in definition order)."""
    document = openapi() if kind == "openapi" else json_schema()
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(sys.argv[1] if len(sys.argv) > 1 else "schema"))
