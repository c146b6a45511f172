"""Building prompts in the kernel: ``{name}`` interpolation, recorded errors, chat history.

Interpolation rules (``%%neira`` cell bodies):

- ``{name}``, ``{name.attr}``, ``{name[key]}``, ``{name!r}``, ``{name:.2f}`` are
  filled in from the user's namespace with ``str.format`` semantics.
- ``{In[3]}``, ``{Out[3]}`` and ``{Err[3]}`` are the input, output and error of
  cell 3 (``Err`` is recorded by the extension's ``post_run_cell`` hook).
- ``{{`` and ``}}`` are literal braces.
- A brace pair that cannot be a placeholder (``{}``, ``{"a": 1}``,
  ``{return x}``) is left as it is, so code and JSON in prompts need no
  escaping; a placeholder whose name is not defined is an error that says how
  to escape it.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ChatHistory",
    "ErrorRecord",
    "InterpolationError",
    "interpolate",
    "record_from_exception",
]

_BRACES = re.compile(r"\{\{|\}\}|\{([^{}\n]*)\}")
_FIELD = re.compile(
    r"""^\s*
    (?P<root>[A-Za-z_]\w*)
    (?P<rest>(?:\.[A-Za-z_]\w*|\[[^\[\]{}]+\])*)
    (?P<conv>![rsa])?
    (?P<spec>:[^{}]*)?
    \s*$""",
    re.VERBOSE,
)


class InterpolationError(ValueError):
    """A ``{placeholder}`` in the prompt cannot be filled in; the message says why."""


def interpolate(template: str, namespace: Mapping[str, Any]) -> str:
    """Fill ``{placeholders}`` in ``template`` from ``namespace`` (see the module docstring)."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        field = _FIELD.match(match.group(1))
        if field is None:
            return token  # not a placeholder: literal text
        root = field.group("root")
        if root not in namespace:
            raise InterpolationError(
                f"{token} in the prompt: there is no variable {root!r}. Define it, or write "
                f"{{{token}}} for literal braces."
            )
        try:
            return ("{" + match.group(1).strip() + "}").format_map(_OnlyRoot(namespace))
        except (LookupError, AttributeError, ValueError, TypeError) as exc:
            raise InterpolationError(
                f"{token} in the prompt: {_explain(root, field.group('rest'), exc)}"
            ) from None

    return _BRACES.sub(replace, template)


class _OnlyRoot(dict[str, Any]):
    """A mapping view for ``format_map`` that looks names up in the namespace."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        super().__init__()
        self._ns = namespace

    def __missing__(self, key: str) -> Any:
        return self._ns[key]


def _explain(root: str, rest: str, exc: BaseException) -> str:
    index = rest.strip("[]")
    if root == "Out" and isinstance(exc, KeyError):
        return f"cell {index} has no output (Out[{index}] does not exist)."
    if root == "Err" and isinstance(exc, KeyError):
        return f"cell {index} raised no error that was recorded (Err[{index}] does not exist)."
    if root == "In" and isinstance(exc, IndexError):
        return f"there is no cell {index} yet (In[{index}] does not exist)."
    return f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class ErrorRecord:
    """An error a cell raised: the cell's code and its traceback (``str()`` is the traceback)."""

    execution_count: int | None
    code: str
    ename: str
    evalue: str
    traceback: str

    def __str__(self) -> str:
        return self.traceback


def record_from_exception(
    exc: BaseException, code: str, execution_count: int | None
) -> ErrorRecord:
    """Format ``exc`` without the IPython machinery frames that precede the user's code."""
    tb = exc.__traceback__
    while tb is not None and _is_machinery(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    return ErrorRecord(execution_count, code, type(exc).__name__, str(exc), text)


def _is_machinery(filename: str) -> bool:
    normalized = filename.replace("\\", "/")
    return "/IPython/core/" in normalized or "/ipykernel/" in normalized


# --------------------------------------------------------------------------- chat


class ChatHistory:
    """Conversations kept per notebook (keyed by ``JPY_SESSION_NAME``), bounded in length."""

    def __init__(self, limit: int = 20) -> None:
        self.limit = limit
        self._chats: dict[str, list[dict[str, str]]] = {}

    def messages(self, key: str) -> list[dict[str, str]]:
        return [dict(m) for m in self._chats.get(key, [])]

    def add_exchange(self, key: str, user: str, assistant: str) -> None:
        chat = self._chats.setdefault(key, [])
        chat.append({"role": "user", "content": user})
        chat.append({"role": "assistant", "content": assistant})
        excess = len(chat) - max(2, self.limit)
        if excess > 0:
            del chat[: excess + (excess % 2)]  # drop whole exchanges, oldest first

    def reset(self, key: str) -> int:
        """Forget the conversation of ``key``; return how many messages it had."""
        return len(self._chats.pop(key, []))
