"""``%neira fix`` asks as the chat's Explain / fix does, on a bare IPython shell and the stub API.

The snapshot is the kernel's own history (cells numbered by execution count,
the error's cell active, its traceback), the variables are the chat probe's
summary, the request is the chat's (``context.prompt.ask``): its system
prompt holds the error and ``df``; the answer ends with the chat's footer and
its last code block becomes the next cell. Reading all this changes neither
``Out`` nor the history. The demo model's answer is checked in a real kernel
by ``test_magics_e2e.py``; that the persona builds the same request for the
same snapshot, by ``tests/server/test_chat_persona.py``.
"""

from __future__ import annotations

import re

import pytest
from IPython.core.interactiveshell import InteractiveShell

from neira_jupyter.context.prompt import ask, fix_question
from neira_jupyter.kernel.fix import error_snapshot, fix_request, own_variables
from tests.support.ipython_shell import magics_of, run, shown, use_stub
from tests.support.stub_api import StubState

DF = 'import pandas as pd\ndf = pd.DataFrame({"alpha": [1, 2, 3], "beta": [0.5, 1.5, 2.5]})'
ANSWER = (
    "There is no column gamma.\n```python\nprint(df['alpha'])\n```\n```python\ndf['alpha']\n```"
)


def failing_notebook(shell: InteractiveShell) -> int:
    """df, an output, then a cell that raises; the failing cell's execution count."""
    for code in (DF, "df.shape", "total = 3"):
        assert run(shell, code)[0].success
    run(shell, 'df["gamma"]')
    return shell.execution_count - 1


def test_the_snapshot_is_the_kernel_history_and_reading_it_changes_nothing(
    shell: InteractiveShell,
) -> None:
    count = failing_notebook(shell)
    error = magics_of(shell).last_error
    assert error is not None and error.execution_count == count
    outputs, inputs, last = (
        dict(shell.user_ns["Out"]),
        list(shell.user_ns["In"]),
        shell.user_ns["_"],
    )
    shell.execution_count += 1  # as while the %neira fix cell runs
    snapshot = error_snapshot(shell, error, "work.ipynb")
    variables = own_variables(shell)
    assert snapshot.number(snapshot.active) == count and snapshot.first == 1
    assert snapshot.cells[snapshot.active].source == 'df["gamma"]'
    assert snapshot.cells[snapshot.active].outputs == "KeyError: 'gamma'"
    assert snapshot.cells[snapshot.active - 2].outputs == "tuple[2] 3, 2"  # Out, summarised
    assert snapshot.error is not None and "KeyError: 'gamma'" in snapshot.error.traceback
    assert variables.names[:2] == ["total", "df"]
    assert "columns 'alpha' (int64), 'beta' (float64)" in variables.lines[1]
    shell.execution_count -= 1
    assert (dict(shell.user_ns["Out"]), list(shell.user_ns["In"])) == (outputs, inputs)
    assert shell.user_ns["_"] is last


def test_the_request_is_the_chat_s_for_that_snapshot(shell: InteractiveShell) -> None:
    count = failing_notebook(shell)
    error = magics_of(shell).last_error
    assert error is not None
    shell.execution_count += 1
    request, asked = fix_request(
        shell, error, window_tokens=4096, answer_tokens=300, path="w.ipynb"
    )
    expected = ask(
        fix_question(count, "KeyError", "'gamma'"),
        error_snapshot(shell, error, "w.ipynb"),
        own_variables(shell),
        window_tokens=4096,
        answer_tokens=300,
    )
    shell.execution_count -= 1
    assert request.system == expected.request.system and asked.footer == expected.footer
    assert request.messages == expected.request.messages and request.max_tokens == 300
    assert re.fullmatch(r"\n\n---\n\*used: \d+ cells, the last error, total, df\*", asked.footer)


def test_the_magic_asks_shows_the_footer_and_offers_the_code(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, stub: tuple[str, StubState]
) -> None:
    url, state = stub
    use_stub(monkeypatch, url)
    state.tokens = [ANSWER[:20], ANSWER[20:]]
    count = failing_notebook(shell)
    shell.rl_next_input = None
    result, captured = run(shell, "%neira fix")
    assert result.success and result.result is None
    body = state.bodies("generate")[-1]
    assert body["messages"] == [
        {"role": "user", "content": fix_question(count, "KeyError", "'gamma'")}
    ]
    assert "df: pandas.DataFrame, shape (3, 2)" in body["system"]
    assert f"The last error, in cell {count}:" in body["system"]
    assert re.search(r"---\n\*used: \d+ cells, the last error, total, df\*$", shown(captured))
    assert shell.rl_next_input == "df['alpha']"  # the answer's last code block

    shell.rl_next_input = None
    run(shell, "%config NeiraMagics.fix_next_cell = False")
    run(shell, f"%neira fix {count}")
    assert shell.rl_next_input is None
