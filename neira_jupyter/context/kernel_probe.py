"""Runs inside the user's kernel: describe its variables without side effects.

The chat sends this file's source to the kernel as a silent execution (see
``chat.variables``); ``%neira fix`` imports it in its own kernel
(``kernel.fix``). It imports nothing of neira, so any Python kernel runs it.
``describe(ns, hidden)`` returns JSON: for each variable its name, type and
a short summary. It never calls ``repr``/``str``/``len`` of an object whose
type it does not know exactly (a user's ``__repr__`` may be huge or never
return): builtin scalars and strings are shown, containers by length and
their first items (recursively, known types only), NumPy arrays and pandas
objects by shape, dtypes, columns and a few rows of known values; anything
else by its type's name. A wall-clock alarm (main thread only, and not when
the user's code has an alarm pending) bounds the whole walk, and the output
is capped.
"""

from __future__ import annotations

import json
import signal
import threading
from itertools import islice
from typing import Any

SCALARS = (int, float, bool, complex, type(None))
CONTAINERS = (list, tuple, set, frozenset, dict)
SKIP_TYPES = ("module", "function", "builtin_function_or_method", "type", "method")
SKIP_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "open"})
BUDGET_S = 1.0
"""Seconds the whole walk may take before it stops itself."""
MAX_CHARS = 6000
"""The most characters of summaries."""


class _OutOfTime(Exception):
    pass


def type_name(value: Any) -> str:
    kind = type(value)
    module = getattr(kind, "__module__", "") or ""
    name = getattr(kind, "__qualname__", "?")
    return name if module in ("builtins", "__main__") else f"{module.split('.')[0]}.{name}"


def short(value: Any, depth: int = 0, width: int = 60) -> str:
    """A bounded text for a value of a known type; other values by type name only."""
    kind = type(value)
    if kind in SCALARS:
        text = repr(value)
    elif kind is str:
        text = repr(value[:width]) + ("..." if len(value) > width else "")
    elif kind is bytes:
        text = f"bytes[{len(value)}]"
    elif kind in CONTAINERS and depth < 1:
        items = list(islice(value.items() if kind is dict else value, 4))
        if kind is dict:
            inner = ", ".join(f"{short(k, 1, 20)}: {short(v, 1, 20)}" for k, v in items)
        else:
            inner = ", ".join(short(v, 1, 20) for v in items)
        more = ", ..." if len(value) > len(items) else ""
        text = f"{kind.__name__}[{len(value)}]" + (f" {inner}{more}" if items else "")
    elif kind in CONTAINERS:
        text = f"{kind.__name__}[{len(value)}]"
    else:
        text = f"<{type_name(value)}>"
    return text[: width * 2]


def _cell(value: Any) -> str:
    return short(value, 1, 16)


def describe_frame(frame: Any, rows: int = 3) -> str:
    columns = list(frame.columns)[:20]
    dtypes = frame.dtypes
    cols = ", ".join(f"{_cell(c)} ({dtypes.iloc[i]})" for i, c in enumerate(columns))
    more = ", ..." if frame.shape[1] > len(columns) else ""
    lines = [f"shape {frame.shape}; columns {cols}{more}"]
    by_column = [frame.iloc[:rows, i].tolist() for i in range(len(columns))]
    for values in zip(*by_column, strict=True):
        lines.append("  " + " | ".join(_cell(v) for v in values))
    return "\n".join(lines)


def describe_series(series: Any, rows: int = 5) -> str:
    values = " ".join(_cell(v) for v in series.iloc[:rows].tolist())
    return f"length {len(series)}, dtype {series.dtype}, name {_cell(series.name)}: {values}"


def describe_array(array: Any) -> str:
    text = f"shape {array.shape}, dtype {array.dtype}"
    if array.dtype.kind in "biufc" and array.size:
        text += ": " + " ".join(_cell(v) for v in array.ravel()[:6].tolist())
    return text


def summary(value: Any) -> str:
    kind = type(value)
    module = (getattr(kind, "__module__", "") or "").split(".")[0]
    name = getattr(kind, "__name__", "")
    if module == "pandas" and name == "DataFrame":
        return describe_frame(value)
    if module == "pandas" and name == "Series":
        return describe_series(value)
    if module == "numpy" and name == "ndarray":
        return describe_array(value)
    return short(value, 0, 80)


def describe(ns: dict[str, Any], hidden: Any, budget_s: float = BUDGET_S,
             max_chars: int = MAX_CHARS, max_vars: int = 40) -> str:  # fmt: skip
    """The variables of ``ns`` (newest first) as JSON: ``{"variables": [...], "cut": bool}``."""
    found: list[dict[str, str]] = []
    cut = False
    used = 0
    # the alarm only in the main thread, and never over a timer the user's code has set
    main = threading.current_thread() is threading.main_thread()
    main = main and signal.getitimer(signal.ITIMER_REAL)[0] == 0

    def expire(signum: int, frame: Any) -> None:
        raise _OutOfTime()

    previous = signal.signal(signal.SIGALRM, expire) if main else None
    if main:
        signal.setitimer(signal.ITIMER_REAL, budget_s)
    try:
        for name in reversed(list(ns)):
            value = ns[name]
            if name.startswith("_") or name in SKIP_NAMES or name in hidden:
                continue
            if type(value).__name__ in SKIP_TYPES:
                continue
            if len(found) >= max_vars or used >= max_chars:
                cut = True
                break
            text = summary(value)[: max_chars - used]
            used += len(name) + len(text)
            found.append({"name": name, "type": type_name(value), "summary": text})
    except _OutOfTime:
        cut = True
    finally:
        if main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return json.dumps({"variables": found, "cut": cut})
