"""How a busy or failing server reads in the notebook, and the client's typed errors.

A full queue (429), models still loading or failed (503), a wrong token
(403), no neira API (404) and an error event in the middle of a stream
become ``NeiraClient``'s typed errors and, in a cell, one line that says
what to do, keeping any partial answer. The server is the stub of
``tests/support/stub_api.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from neira_jupyter.kernel.client import (
    DegradedError,
    ModelLoading,
    NeiraClient,
    NeiraHTTPError,
    QueueFullError,
    ServerNotFound,
)
from tests.support.ipython_shell import run, use_stub
from tests.support.stub_api import TOKEN, StubState


@pytest.mark.parametrize(
    ("status", "retry_after", "model_state", "expected"),
    [
        (429, "7", "ready", "The neira queue is full (nope); try again in 7 s."),
        (503, None, "loading", "still loading: stub-llm. Try again"),
        (503, None, "failed", "No model can answer right now (degraded mode): out of memory"),
    ],
)
def test_busy_server_errors_read_as_user_needs(
    shell: InteractiveShell,
    monkeypatch: pytest.MonkeyPatch,
    stub: tuple[str, StubState],
    status: int,
    retry_after: str | None,
    model_state: str,
    expected: str,
) -> None:
    url, state = stub
    use_stub(monkeypatch, url)
    state.generate_status = status
    state.retry_after = retry_after
    state.model_state = model_state
    state.generate_message = "out of memory" if status == 503 else "nope"
    result, captured = run(shell, "%%neira\nhi")
    assert result.success
    assert expected in captured.stderr, captured.stderr
    assert "Traceback" not in captured.stderr


def test_client_maps_statuses_to_typed_errors(stub: tuple[str, StubState]) -> None:
    url, state = stub
    client = NeiraClient(url, TOKEN)
    state.generate_status, state.retry_after = 429, "3"
    with pytest.raises(QueueFullError) as queue_full:
        list(client.generate(_request()))
    assert queue_full.value.retry_after == 3.0
    state.generate_status, state.model_state = 503, "loading"
    with pytest.raises(ModelLoading) as loading:
        client.generate_text(_request())
    assert loading.value.models[0]["name"] == "stub-llm"
    state.model_state = "ready"
    with pytest.raises(DegradedError) as degraded:
        list(client.generate(_request()))
    assert degraded.value.reason == "NoModelAvailable"
    with pytest.raises(NeiraHTTPError) as forbidden:
        NeiraClient(url, "wrong-token").status()
    assert forbidden.value.status == 403 and "NEIRA_TOKEN" in str(forbidden.value)
    with pytest.raises(ServerNotFound, match="jupyter server extension enable neira_jupyter"):
        NeiraClient(url.replace("/base/", "/elsewhere/"), TOKEN).status()
    assert client.cancel("no-such-request") is False


def test_error_event_mid_stream_keeps_partial_text(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, stub: tuple[str, StubState]
) -> None:
    url, state = stub
    use_stub(monkeypatch, url)
    state.error_after_tokens = 2
    result, captured = run(shell, "%%neira\nhi")
    assert result.success
    assert captured.stdout.startswith("Hello")
    assert "[error:" in captured.stdout
    assert "neira: No model can answer right now (degraded mode): the model crashed" in (
        captured.stderr
    )


def _request() -> Any:
    from neira_jupyter.kernel.client import GenerateRequest

    return GenerateRequest(prompt="hi")
