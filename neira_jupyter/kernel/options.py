"""What the magics accept: spoken languages, the code prompt, and argparse value checks."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..protocol import LANGUAGES  # the spoken languages the API takes (auto: Whisper detects)

__all__ = ["CODE_SYSTEM_PROMPT", "LANGUAGES", "identifier", "ranged"]

CODE_SYSTEM_PROMPT = (
    "You write {language} code for a Jupyter notebook. Answer with one ```{language} "
    "code block and at most one short sentence."
)
"""The system message of ``%%neira --code`` when the user gives none."""


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
