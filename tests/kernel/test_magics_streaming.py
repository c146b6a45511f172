"""A ``%%neira`` answer as it streams from the server into the notebook and ``--out``.

Rich output updates one display as tokens arrive, plain output streams to
stdout; ``--out`` keeps a ``NeiraResult``, ``--code`` puts the answer's code
in the next cell and ``--format json`` asks the server for JSON. The server
is the stub of ``tests/support/stub_api.py``, answering ``Hello there`` in
three tokens.
"""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

from neira_jupyter.kernel.magics import NeiraResult
from tests.support.ipython_shell import magics_of, run, use_stub
from tests.support.stub_api import TOKEN, StubState


def test_streaming_updates_one_display_and_out_stores_result(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, stub: tuple[str, StubState]
) -> None:
    url, state = stub
    use_stub(monkeypatch, url)
    magics = magics_of(shell)
    magics.output_mode = "rich"
    magics.stream_interval = 0.0
    try:
        result, captured = run(shell, "%%neira --out answer --max-tokens 9 --temperature 0\nhi")
    finally:
        magics.output_mode = "auto"
        magics.stream_interval = 0.1
    assert result.success, captured.stderr
    outputs = captured.outputs
    assert len(outputs) == 1 + len(state.tokens)  # first display, updates, final render
    display_ids = {o.transient["display_id"] for o in outputs}
    assert len(display_ids) == 1 and all(o.update for o in outputs[1:])
    assert outputs[-1].data["text/markdown"] == "Hello there"
    assert outputs[1].data["text/plain"].startswith("Hello")  # in-progress text with cursor
    answer = shell.user_ns["answer"]
    assert isinstance(answer, NeiraResult)
    assert (answer.text, answer.model, answer.route, answer.finish_reason) == (
        "Hello there",
        "stub-llm",
        "primary",
        "stop",
    )
    assert answer.usage["total_tokens"] == 6 and answer.timings["first_token_ms"] == 1.0
    body = state.bodies("generate")[-1]
    assert body["max_tokens"] == 9 and body["temperature"] == 0.0 and body["stream"] is True
    assert body["request_id"] == answer.request_id
    headers = state.requests[-1][2]
    assert headers["Authorization"] == f"token {TOKEN}"


def test_plain_mode_streams_text_to_stdout(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, stub: tuple[str, StubState]
) -> None:
    url, _ = stub
    use_stub(monkeypatch, url)
    result, captured = run(shell, "%%neira\nhi")
    assert result.success
    assert captured.stdout == "Hello there\n"
    assert captured.outputs == []


def test_code_puts_generated_code_in_next_cell(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, stub: tuple[str, StubState]
) -> None:
    url, state = stub
    use_stub(monkeypatch, url)
    state.tokens = ["Here:\n```python\n", "print('hi')\n", "```\nDone."]
    shell.rl_next_input = None
    result, captured = run(shell, "%%neira --code\nsay hi")
    assert result.success, captured.stderr
    assert shell.rl_next_input == "print('hi')"
    assert "python code" in state.bodies("generate")[-1]["system"]


def test_format_json_asks_the_server_for_json(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, stub: tuple[str, StubState]
) -> None:
    url, state = stub
    use_stub(monkeypatch, url)
    state.tokens = ['{"colour": ', '"red"}']
    result, captured = run(shell, "%%neira --format json --out answer\na colour as JSON")
    assert result.success, captured.stderr
    assert state.bodies("generate")[-1]["json_schema"] == {}
    assert shell.user_ns["answer"].json() == {"colour": "red"}
    run(shell, "%%neira\nplain text")
    assert state.bodies("generate")[-1].get("json_schema") is None
