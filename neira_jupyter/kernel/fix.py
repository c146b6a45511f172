"""``%neira fix``: ask about a recorded error the way the chat's Explain / fix does.

The kernel is the notebook's kernel, so it needs no snapshot from a browser
nor a silent execution: ``error_snapshot`` builds the ``NotebookSnapshot``
from its own input history (cells numbered by execution count, the error's
cell active, outputs summarised by the probe's bounded ``summary``, the error
with its traceback), and ``own_variables`` runs the chat's probe
(``context.kernel_probe.describe``) on the user's namespace directly. Reading
them changes nothing: no execution, no ``Out``, no history. ``fix_request``
then asks ``context.prompt.fix_question`` through ``context.prompt.ask``, the
builder the chat persona uses: the same system prompt, context budget,
variable summary and "used: ..." footer.
"""

from __future__ import annotations

import os
from typing import Any

from ..context import kernel_probe
from ..context.prompt import ANSWER_TOKENS, WINDOW_TOKENS, Ask, ask, fix_question
from ..context.snapshot import (
    MAX_CELLS,
    MAX_ENAME_CHARS,
    MAX_EVALUE_CHARS,
    MAX_OUTPUT_CHARS,
    MAX_SOURCE_CHARS,
    CellSnapshot,
    ErrorSnapshot,
    NotebookSnapshot,
    trim_middle,
)
from ..context.variables import KernelVariables, variables_from_probe
from ..protocol import StatusDocument
from .client import GenerateRequest
from .prompt import ErrorRecord

__all__ = ["error_snapshot", "fix_request", "own_variables", "window_of"]


def error_snapshot(shell: Any, error: ErrorRecord, path: str = "") -> NotebookSnapshot:
    """The kernel's history around ``error`` as a snapshot whose active cell raised it."""
    current = int(getattr(shell, "execution_count", 1) or 1)  # the %neira fix cell itself
    count = error.execution_count
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", [])
    outputs = getattr(getattr(shell, "history_manager", None), "output_hist", {})
    if count is None or not 1 <= count < current:
        numbers = [count or current]
    else:
        end = min(current - 1, count + MAX_CELLS // 2)
        numbers = list(range(max(1, end - MAX_CELLS + 1), end + 1))
    what = f"{error.ename}: {error.evalue}"
    cells = []
    for number in numbers:
        if number == (count or current):
            source, shown = error.code, what
        else:
            source = history[number] if number < len(history) else ""
            shown = kernel_probe.summary(outputs[number]) if number in outputs else ""
        cells.append(CellSnapshot(source=trim_middle(source, MAX_SOURCE_CHARS),
                                  outputs=trim_middle(shown, MAX_OUTPUT_CHARS)))  # fmt: skip
    active = numbers.index(count or current)
    return NotebookSnapshot(
        path=path[:1000],
        active=active,
        cells=cells,
        error=ErrorSnapshot(
            cell=active,
            ename=error.ename[:MAX_ENAME_CHARS],
            evalue=error.evalue[:MAX_EVALUE_CHARS],
            traceback=trim_middle(error.traceback.rstrip(), MAX_OUTPUT_CHARS),
        ),
        first=numbers[0],
    )


def own_variables(shell: Any) -> KernelVariables:
    """This kernel's variables, described by the chat's probe (bounded, no unknown reprs)."""
    return variables_from_probe(kernel_probe.describe(shell.user_ns, shell.user_ns_hidden))


def window_of(status: StatusDocument | None) -> int:
    """The context window of the model that serves new requests (``WINDOW_TOKENS`` if unknown)."""
    if status is not None:
        for model in status.models:
            if model.name == status.route.model and model.n_ctx:
                return int(model.n_ctx)
    return WINDOW_TOKENS


def fix_request(
    shell: Any,
    error: ErrorRecord,
    *,
    window_tokens: int = WINDOW_TOKENS,
    answer_tokens: int | None = None,
    path: str | None = None,
) -> tuple[GenerateRequest, Ask]:
    """The request that asks about ``error`` (the chat's question and prompt) and its footer."""
    path = os.environ.get("JPY_SESSION_NAME", "") if path is None else path
    snapshot = error_snapshot(shell, error, path)
    question = fix_question(snapshot.number(snapshot.active), error.ename, error.evalue)
    asked = ask(
        question,
        snapshot,
        own_variables(shell),
        window_tokens=window_tokens,
        answer_tokens=answer_tokens or ANSWER_TOKENS,
    )
    request = GenerateRequest.model_validate(asked.request.model_dump(exclude_none=True))
    return request, asked
