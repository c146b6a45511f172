"""What the magics accept: spoken languages, the code prompt, sampling bounds, value checks.

The bounds of ``--max-tokens`` and ``--temperature`` (and of the matching
``NeiraMagics`` settings) are read from the protocol's ``GenerateRequest``
constraints, the ones the server enforces, so the kernel states none itself.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from ..protocol import (
    LANGUAGES,  # the spoken languages the API takes (auto: Whisper detects)
    GenerateRequest,
)

__all__ = [
    "CODE_SYSTEM_PROMPT",
    "LANGUAGES",
    "MAX_TOKENS_RANGE",
    "TEMPERATURE_RANGE",
    "field_range",
    "identifier",
    "ranged",
]

CODE_SYSTEM_PROMPT = (
    "You write {language} code for a Jupyter notebook. Answer with one ```{language} "
    "code block and at most one short sentence."
)
"""The system message of ``%%neira --code`` when the user gives none."""


def field_range(model: type[BaseModel], name: str) -> tuple[Any, Any]:
    """The inclusive bounds (``ge``, ``le``) a protocol model puts on its field ``name``."""
    low = high = None
    for constraint in model.model_fields[name].metadata:
        low = getattr(constraint, "ge", low)
        high = getattr(constraint, "le", high)
    if low is None or high is None:
        raise ValueError(f"{model.__name__}.{name} has no inclusive range")
    return low, high


MAX_TOKENS_RANGE: tuple[int, int] = field_range(GenerateRequest, "max_tokens")
"""The ``max_tokens`` a request may ask for (``--max-tokens``)."""
TEMPERATURE_RANGE: tuple[float, float] = field_range(GenerateRequest, "temperature")
"""The sampling temperatures a request may ask for (``--temperature``)."""


def ranged(kind: Callable[[str], Any], low: float, high: float, name: str) -> Callable[[str], Any]:
    """An argparse ``type=`` that parses a number with ``kind`` and checks ``low <= x <= high``."""

    def parse(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, not {value!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{name} must be between {low:g} and {high:g}")
        return number

    return parse


def identifier(value: str) -> str:
    """An argparse ``type=`` for ``--out VAR``: a valid Python variable name."""
    if not value.isidentifier():
        raise argparse.ArgumentTypeError(f"{value!r} is not a valid variable name")
    return value
