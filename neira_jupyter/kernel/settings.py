"""``MagicSettings``: what a user can configure about the magics, with bounds and help.

``NeiraMagics`` inherits these traits, so ``%config NeiraMagics.default_max_tokens = 256``
and an ``ipython_config.py`` set them; a value out of bounds is a ``TraitError``.
"""

from __future__ import annotations

from typing import Any, cast

from traitlets import Bool, Enum, Float, Int, TraitError, Unicode, validate
from traitlets.config import Configurable

from .arguments import MAX_TOKENS_RANGE, TEMPERATURE_RANGE
from .render import FORMATS

__all__ = ["MagicSettings"]


class MagicSettings(Configurable):
    """The settings of ``%%neira``, ``%neira`` and ``%transcribe``."""

    default_model = Unicode("auto", help="Model for %%neira when --model is not given.").tag(
        config=True
    )
    default_max_tokens = Int(
        None, allow_none=True, help="--max-tokens default (None: the server's default)."
    ).tag(config=True)
    default_temperature = Float(
        None, allow_none=True, help="--temperature default (None: the server's default)."
    ).tag(config=True)
    default_system = Unicode("", help="System message sent when --system is not given.").tag(
        config=True
    )
    default_format = Enum(list(FORMATS), "markdown", help="--format default.").tag(config=True)
    code_language = Unicode("python", help="Language of --code and --format code.").tag(config=True)
    stream_interval = Float(
        0.1, help="Least seconds between two in-place updates of a streaming answer."
    ).tag(config=True)
    chat_history_limit = Int(
        20, help="Messages of a --chat conversation sent back to the model (oldest dropped)."
    ).tag(config=True)
    output_mode = Enum(
        ["auto", "rich", "plain"],
        "auto",
        help="rich: update one display in place (notebooks); plain: write text to stdout "
        "(terminals); auto: rich inside a Jupyter kernel.",
    ).tag(config=True)
    connect_timeout = Float(
        10.0, help="Seconds to wait for the server to accept a connection."
    ).tag(config=True)
    read_timeout = Float(
        600.0, help="Seconds to wait for the next piece of an answer before giving up."
    ).tag(config=True)
    cancel_timeout = Float(
        5.0, help="Seconds to wait for the server to confirm a cancelled generation."
    ).tag(config=True)
    record_errors = Bool(True, help="Record cell errors as Err[n] for prompts and %neira fix.").tag(
        config=True
    )
    fix_next_cell = Bool(
        True, help="%neira fix puts the last code block of its answer into a new cell below."
    ).tag(config=True)

    @validate("default_max_tokens")
    def _check_max_tokens(self, proposal: dict[str, Any]) -> int | None:
        value = proposal["value"]
        low, high = MAX_TOKENS_RANGE
        if value is not None and not low <= value <= high:
            raise TraitError(f"default_max_tokens must be between {low} and {high}")
        return cast("int | None", value)

    @validate("default_temperature")
    def _check_temperature(self, proposal: dict[str, Any]) -> float | None:
        value = proposal["value"]
        low, high = TEMPERATURE_RANGE
        if value is not None and not low <= value <= high:
            raise TraitError(f"default_temperature must be between {low:g} and {high:g}")
        return cast("float | None", value)

    @validate("stream_interval", "connect_timeout", "read_timeout", "cancel_timeout")
    def _check_non_negative(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if value < 0:
            raise TraitError(f"{proposal['trait'].name} must not be negative")
        return value

    @validate("chat_history_limit")
    def _check_history(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value < 0:
            raise TraitError("chat_history_limit must not be negative")
        return value
