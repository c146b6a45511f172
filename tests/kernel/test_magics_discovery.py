"""How the magics find the neira server, and what they say when there is none.

A kernel finds its server through ``NEIRA_URL``/``NEIRA_TOKEN`` or the
``jpserver-<pid>.json`` runtime file of ``JPY_PARENT_PID``; when neither
leads to a server, every magic says how to fix it instead of raising. The
server here is the stub of ``tests/support/stub_api.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from neira_jupyter.kernel.client import NeiraClient, server_url_from_info
from tests.support.ipython_shell import run, shown
from tests.support.stub_api import TOKEN, StubState


def test_no_server_at_neira_url_says_how_to_fix(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("NEIRA_URL", f"http://127.0.0.1:{port}/")
    for code in ("%%neira\nhello", "%neira status", "%neira models", "%%neira --no-stream\nhi"):
        result, captured = run(shell, code)
        assert result.success, code
        assert f"No neira server answers at http://127.0.0.1:{port}/neira/api/" in captured.stderr
        assert "NEIRA_URL" in captured.stderr and "Traceback" not in captured.stderr


def test_no_parent_server_says_how_to_fix(shell: InteractiveShell) -> None:
    result, captured = run(shell, "%%neira\nhello")
    assert result.success
    assert "not started by a Jupyter server" in captured.stderr
    assert "NEIRA_URL" in captured.stderr and "NEIRA_TOKEN" in captured.stderr


def test_parent_pid_without_runtime_file(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("JPY_PARENT_PID", "999999")
    _, captured = run(shell, "%neira status")
    assert "jpserver-999999.json" in captured.stderr
    assert "Jupyter server started with the neira extension" in captured.stderr


def test_discovery_from_parent_pid_runtime_file(
    shell: InteractiveShell,
    monkeypatch: pytest.MonkeyPatch,
    stub: tuple[str, StubState],
    tmp_path: Path,
) -> None:
    url, state = stub
    port = int(url.split(":")[2].split("/")[0])
    info = {
        "url": f"http://myhost:{port}/base/",
        "hostname": "0.0.0.0",
        "port": port,
        "sock": "",
        "base_url": "/base/",
        "token": TOKEN,
        "pid": 4242,
    }
    (tmp_path / "jpserver-4242.json").write_text(json.dumps(info))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("JPY_PARENT_PID", "4242")
    client = NeiraClient.discover()
    assert client.base_url == f"http://127.0.0.1:{port}/base/neira/api/"
    assert client.token == TOKEN and client.source.endswith("jpserver-4242.json")
    result, captured = run(shell, "%neira status")
    assert result.success, captured.stderr
    assert "route: primary → stub-llm (primary ready)" in shown(captured)
    assert "stub-whisper" in shown(captured)
    _, captured = run(shell, "%neira models")
    assert "→ stub-llm" in shown(captured) and "auto → stub-llm" in shown(captured)
    assert state.requests[-1][1] == "/base/neira/api/status"


def test_neira_url_override_wins_and_accepts_api_url() -> None:
    env = {"NEIRA_URL": "http://h:1/jp/neira/api/", "NEIRA_TOKEN": "t", "JPY_PARENT_PID": "1"}
    client = NeiraClient.discover(environ=env)
    assert (client.base_url, client.token, client.source) == (
        "http://h:1/jp/neira/api/",
        "t",
        "NEIRA_URL",
    )
    assert NeiraClient.discover(environ={"NEIRA_URL": "http://h:1"}).base_url == (
        "http://h:1/neira/api/"
    )
    sock = server_url_from_info({"sock": "/tmp/j.sock", "base_url": "/"})
    assert sock == "http+unix://%2Ftmp%2Fj.sock/"
