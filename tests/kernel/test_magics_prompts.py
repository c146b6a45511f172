"""What the magics send as the prompt: interpolation, ``%neira fix`` and chat history.

``{name}``, ``{In[n]}``, ``{Out[n]}`` and ``{Err[n]}`` in a cell are filled
in from the kernel (``{{`` escapes, unknown names are usage errors), the
last error is recorded for ``%neira fix`` (asked as the chat asks:
``test_fix.py``), and ``--chat`` sends the notebook's recent exchanges until
``%neira reset``. What reaches the server
is read back from the stub of ``tests/support/stub_api.py``.
"""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

from neira_jupyter.kernel.prompt import ChatHistory, InterpolationError, interpolate
from tests.support.ipython_shell import magics_of, run, use_stub
from tests.support.stub_api import StubState


def test_interpolation_of_names_in_out_err_and_escapes(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, stub: tuple[str, StubState]
) -> None:
    url, state = stub
    use_stub(monkeypatch, url)
    run(shell, "x = 41")
    count = shell.execution_count
    run(shell, "x + 1")  # Out[count] == 42
    run(shell, "items = {'a': [1, 2]}\n1 / 0")
    result, captured = run(
        shell,
        f"%%neira --no-stream\nx={{x}} in={{In[{count}]}} out={{Out[{count}]}} "
        f"item={{items[a]}} {{{{literal}}}} {{}} {{'json': 1}}\nerr={{Err[{count + 1}]}}",
    )
    assert result.success, captured.stderr
    prompt = state.bodies("generate")[-1]["prompt"]
    assert prompt.startswith("x=41 in=x + 1 out=42 item=[1, 2] {literal} {} {'json': 1}\nerr=")
    assert "ZeroDivisionError: division by zero" in prompt
    assert "1 / 0" in prompt


def test_interpolation_errors_name_the_placeholder(shell: InteractiveShell) -> None:
    cases = {
        "%%neira\nwhat is {undefined_thing}?": "no variable 'undefined_thing'",
        "%%neira\n{Out[9999]}": "cell 9999 has no output",
        "%%neira\n{Err[9999]}": "cell 9999 raised no error",
        "%%neira\n{In[9999]}": "there is no cell 9999",
    }
    for code, expected in cases.items():
        result, captured = run(shell, code)
        assert not result.success
        assert expected in captured.stderr, (code, captured.stderr)


def test_interpolate_function_directly() -> None:
    ns = {"name": "Ada", "n": 3.14159, "d": {"k": "v"}}
    assert interpolate("{name!r} {n:.2f} {d[k]} {{name}} }}{{", ns) == "'Ada' 3.14 v {name} }{"
    assert (
        interpolate("def f():\n    return {}\nx = {1: 2}", ns)
        == "def f():\n    return {}\nx = {1: 2}"
    )
    with pytest.raises(InterpolationError, match="write \\{\\{missing\\}\\}"):
        interpolate("{missing}", ns)


def test_errors_are_recorded_for_fix(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, stub: tuple[str, StubState]
) -> None:
    url, state = stub
    use_stub(monkeypatch, url)
    magics = magics_of(shell)
    _, captured = run(shell, "%neira fix")
    assert "no error to fix yet" in captured.stdout
    run(shell, "def f(v):\n    return v['missing']\nf({})")
    count = shell.execution_count - 1
    assert "KeyError: 'missing'" in str(shell.user_ns["Err"][count])
    assert magics.last_error is not None and magics.last_error.ename == "KeyError"
    assert "interactiveshell.py" not in magics.last_error.traceback
    result, _ = run(shell, "%neira fix")
    assert result.success
    body = state.bodies("generate")[-1]
    question = body["messages"][-1]["content"]
    assert question == (
        f"Explain the error in cell {count} (KeyError: 'missing') and show the fixed code."
    )
    assert "return v['missing']" in body["system"] and "KeyError: 'missing'" in body["system"]
    _, captured = run(shell, f"%neira fix {count + 50}")
    assert f"cell {count + 50} raised no recorded error" in captured.stderr


def test_chat_sends_history_and_reset_clears_it(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, stub: tuple[str, StubState]
) -> None:
    url, state = stub
    use_stub(monkeypatch, url)
    monkeypatch.setenv("JPY_SESSION_NAME", "chat-test.ipynb")
    run(shell, "%%neira --chat\nMy name is Ada.")
    run(shell, "%%neira --chat --system 'Be brief.'\nWhat is my name?")
    first, second = state.bodies("generate")[-2:]
    assert first["messages"] == [{"role": "user", "content": "My name is Ada."}]
    assert "prompt" not in second and second["system"] == "Be brief."
    assert second["messages"] == [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Hello there"},
        {"role": "user", "content": "What is my name?"},
    ]
    _, captured = run(shell, "%neira reset")
    assert "2 messages" not in captured.stdout and "4 messages" in captured.stdout
    run(shell, "%%neira --chat\nAgain?")
    assert state.bodies("generate")[-1]["messages"] == [{"role": "user", "content": "Again?"}]


def test_chat_history_keeps_whole_recent_exchanges() -> None:
    chats = ChatHistory(limit=4)
    for i in range(3):
        chats.add_exchange("nb", f"q{i}", f"a{i}")
    assert [m["content"] for m in chats.messages("nb")] == ["q1", "a1", "q2", "a2"]
    assert chats.messages("other") == []
