"""The magics on a bare ``InteractiveShell``: options, interpolation, errors, settings.

No Jupyter server runs here. Where a test needs answers, a tiny stdlib HTTP
server in a thread answers with documents built from the protocol models
(``neira_jupyter.protocol``), only to check how the client parses them and
maps errors (429, 503, 403, 404, error events); the real server, models and
kernels are exercised in ``tests/kernel/test_magics_e2e.py`` and
``tests/protocol/test_contract.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import CapturedIO, capture_output

from neira_jupyter.kernel.client import (
    DegradedError,
    ModelLoading,
    NeiraClient,
    NeiraHTTPError,
    QueueFullError,
    ServerNotFound,
    server_url_from_info,
)
from neira_jupyter.kernel.magics import NeiraMagics, NeiraResult, TranscriptResult
from neira_jupyter.kernel.prompt import ChatHistory, InterpolationError, interpolate
from neira_jupyter.kernel.render import answer_bundle, diff_text, extract_code, word_diff
from neira_jupyter.protocol import (
    DoneEvent,
    ErrorBody,
    ErrorEvent,
    GenerateRequest,
    GenerateResult,
    ModelInfo,
    StartEvent,
    StatusDocument,
    TokenEvent,
    TranscribeResult,
    WireModel,
)

REPO = Path(__file__).resolve().parents[2]
TOKEN = "stub-token"

# --------------------------------------------------------------------------- stub server


@dataclass
class StubState:
    """What the stub answers and what it was asked."""

    tokens: list[str] = field(default_factory=lambda: ["Hel", "lo", " there"])
    generate_status: int = 200
    generate_message: str = ""
    retry_after: str | None = None
    model_state: str = "ready"
    error_after_tokens: int | None = None
    transcript: dict[str, Any] | None = None
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)

    def bodies(self, path_end: str) -> list[dict[str, Any]]:
        return [json.loads(b) for m, p, _, b in self.requests if p.split("?")[0].endswith(path_end)]


def _model(name: str, kind: str, role: str, state: str) -> ModelInfo:
    return ModelInfo.model_validate(
        {"name": name, "kind": kind, "role": role, "file": f"{name}.bin", "state": state,
         "error": None, "device": "cpu", "memory_bytes": 253_000_000}
    )  # fmt: skip


def _status(state: StubState) -> StatusDocument:
    thresholds = {"low_mib": 1024.0, "recover_mib": 2048.0, "recover_s": 30.0, "critical_mib": 0.0}
    return StatusDocument.model_validate(
        {
            "version": "0.1.0",
            "demo": True,
            "notes": [],
            "llm_enabled": True,
            "route": {"backend": "primary", "model": "stub-llm", "reason": "primary ready",
                      "since": 0.0, "pressure": "ok"},
            "models": [
                _model("stub-llm", "llm", "primary", state.model_state),
                _model("stub-whisper", "speech", "speech", "ready"),
            ],
            "memory": {"source": "host", "level": "ok", "reason": "2048 MiB free",
                       "free_mib": 2048.0, "readings": [], "updated": 0.0, "error": None,
                       "interval_s": 1.0, "thresholds": thresholds},
            "switches": [],
            "backends": {},
            "queue": {
                "depth": 0, "running": 0, "capacity": 16, "per_user": 8, "running_ids": [],
                "lanes": {},
            },
            "speech_lane": None,
            "time": 0.0,
        }
    )  # fmt: skip


def _done(request_id: str, text: str) -> DoneEvent:
    return DoneEvent.model_validate(
        {
            "request_id": request_id,
            "text": text,
            "model": "stub-llm",
            "route": "primary",
            "route_reason": "primary ready",
            "finish_reason": "stop",
            "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
            "timings": {"queue_ms": 0.1, "first_token_ms": 1.0, "total_ms": 2.0,
                        "tokens_per_second": None},
        }
    )  # fmt: skip


class StubHandler(BaseHTTPRequestHandler):
    """docs/api.md, just enough of it: status, generate (NDJSON), cancel, transcribe."""

    protocol_version = "HTTP/1.1"
    state: StubState

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _json(self, status: int, obj: WireModel, headers: dict[str, str] | None = None) -> None:
        data = obj.to_json().encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        body = self._body()
        self.state.requests.append((method, self.path, dict(self.headers), body))
        if self.headers.get("Authorization") != f"token {TOKEN}":
            self._json(403, ErrorBody(message="Forbidden"))
            return
        path = self.path.split("?")[0]
        if not path.startswith("/base/neira/api/"):
            self._json(404, ErrorBody(message="Not Found"))
            return
        endpoint = path[len("/base/neira/api/") :]
        if method == "GET" and endpoint == "status":
            self._json(200, _status(self.state))
        elif method == "POST" and endpoint == "generate":
            self._generate(GenerateRequest.model_validate_json(body))
        elif method == "DELETE" and endpoint.startswith("requests/"):
            self._json(404, ErrorBody(message="no such request"))
        elif method == "POST" and endpoint == "transcribe":
            self._json(200, TranscribeResult.model_validate(self.state.transcript))
        else:
            self._json(404, ErrorBody(message="Not Found"))

    def _generate(self, request: GenerateRequest) -> None:
        state = self.state
        if state.generate_status != 200:
            headers = {"Retry-After": state.retry_after} if state.retry_after else {}
            reason = "NoModelAvailable" if state.generate_status == 503 else None
            message = state.generate_message or "nope"
            self._json(state.generate_status, ErrorBody(message=message, reason=reason), headers)
            return
        rid = request.request_id or "server-chosen"
        start = StartEvent(request_id=rid, model="stub-llm", route="primary")
        done = _done(rid, "".join(state.tokens))
        if not request.stream:
            self._json(200, GenerateResult.model_validate(done.model_dump(exclude={"type"})))
            return
        events: list[WireModel] = [start]
        for i, token in enumerate(state.tokens):
            if state.error_after_tokens is not None and i == state.error_after_tokens:
                events.append(ErrorEvent(status=503, message="the model crashed"))
                break
            events.append(TokenEvent(text=token))
        else:
            events.append(done)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in events:
            line = event.to_json().encode() + b"\n"
            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


@pytest.fixture
def stub() -> Iterator[tuple[str, StubState]]:
    """A stub API server; yields its base URL (with a base_url of ``/base/``) and state."""
    state = StubState()
    handler = type("Handler", (StubHandler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/base/", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --------------------------------------------------------------------------- shell


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """The bare IPython shell with the extension freshly loaded, and no server configured."""
    for name in ("NEIRA_URL", "NEIRA_TOKEN", "JPY_PARENT_PID", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "neira_jupyter")
    try:
        yield ip
    finally:
        ip.run_line_magic("unload_ext", "neira_jupyter")
        ip.config.pop("NeiraMagics", None)
        for name in ("answer", "heard", "x", "items"):
            ip.user_ns.pop(name, None)


def magics_of(ip: InteractiveShell) -> NeiraMagics:
    magics = ip.magics_manager.registry["NeiraMagics"]
    assert isinstance(magics, NeiraMagics)
    return magics


def run(ip: InteractiveShell, code: str) -> tuple[Any, CapturedIO]:
    with capture_output() as captured:
        result = ip.run_cell(code, store_history=True)
    return result, captured


def shown(captured: CapturedIO) -> str:
    """Everything a terminal would show: stdout plus the plain text of displayed outputs."""
    return captured.stdout + "".join(o.data.get("text/plain", "") for o in captured.outputs)


def use_stub(monkeypatch: pytest.MonkeyPatch, url: str, token: str = TOKEN) -> None:
    monkeypatch.setenv("NEIRA_URL", url)
    monkeypatch.setenv("NEIRA_TOKEN", token)


# --------------------------------------------------------------------------- options and help


def test_help_explains_the_magics(shell: InteractiveShell) -> None:
    result, captured = run(shell, "%neira help")
    assert result.success
    assert "%%neira" in shown(captured)
    assert "--out VAR" in shown(captured) and "%transcribe" in shown(captured)


def test_cell_magic_option_errors_are_usage_errors(shell: InteractiveShell) -> None:
    cases = {
        "%%neira --temperature 3\nhi": "between 0 and 2",
        "%%neira --temperature warm\nhi": "must be a number",
        "%%neira --max-tokens 0\nhi": "between 1 and 8192",
        "%%neira --format yaml\nhi": "invalid choice: 'yaml'",
        "%%neira --out 1abc\nhi": "not a valid variable name",
        "%%neira --bogus\nhi": "unrecognized arguments: --bogus",
        "%%neira --system 'unbalanced\nhi": "cannot read the options",
        "%%neira\n   \n": "write the prompt in the cell body",
        "%neira frobnicate": "unknown command 'frobnicate'",
        "%neira fix abc": "optional cell number",
        "%transcribe a.wav --lang de": "invalid choice: 'de'",
    }
    for code, expected in cases.items():
        result, captured = run(shell, code)
        assert not result.success, code
        assert "UsageError" in captured.stderr and expected in captured.stderr, (
            code,
            captured.stderr,
        )
        assert "Traceback" not in captured.stderr + captured.stdout


def test_dash_h_prints_the_option_list(shell: InteractiveShell) -> None:
    result, captured = run(shell, "%%neira --help\nignored")
    assert result.success
    for option in ("--model", "--max-tokens", "--no-stream", "--chat", "--code", "--format"):
        assert option in captured.stdout


def test_config_sets_traits_and_validates(shell: InteractiveShell) -> None:
    magics = magics_of(shell)
    run(shell, "%config NeiraMagics.default_max_tokens = 64")
    run(shell, "%config NeiraMagics.default_format = 'text'")
    assert magics.default_max_tokens == 64
    assert magics.default_format == "text"
    run(shell, "%config NeiraMagics.default_max_tokens = 100000")
    assert magics.default_max_tokens == 64  # rejected, kept
    _, captured = run(shell, "%reload_ext neira_jupyter")  # the bad value stays in shell.config
    assert "ignoring the NeiraMagics settings" in captured.stderr
    assert magics_of(shell).default_max_tokens is None
    _, captured = run(shell, "%config NeiraMagics")
    assert "default_temperature" in captured.stdout and "stream_interval" in captured.stdout


# --------------------------------------------------------------------------- no server


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


def test_transcribe_without_path_and_missing_file(shell: InteractiveShell) -> None:
    _, captured = run(shell, "%transcribe")
    try:
        import neira_jupyter.kernel.widget  # noqa: F401
    except ImportError:
        assert "recording widget is not available yet" in captured.stderr
    else:  # pragma: no cover - once the widget exists it is displayed instead
        assert captured.outputs
    _, captured = run(shell, "%transcribe /nonexistent/speech.wav")
    assert "no such audio file: /nonexistent/speech.wav" in captured.stderr


# --------------------------------------------------------------------------- interpolation


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
    prompt = state.bodies("generate")[-1]["prompt"]
    assert "return v['missing']" in prompt and "KeyError: 'missing'" in prompt
    _, captured = run(shell, f"%neira fix {count + 50}")
    assert f"cell {count + 50} raised no recorded error" in captured.stderr


# --------------------------------------------------------------------------- client parsing


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


# --------------------------------------------------------------------------- discovery


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


# --------------------------------------------------------------------------- transcripts, rendering


def test_transcribe_shows_raw_corrected_and_diff(
    shell: InteractiveShell,
    monkeypatch: pytest.MonkeyPatch,
    stub: tuple[str, StubState],
    tmp_path: Path,
) -> None:
    url, state = stub
    use_stub(monkeypatch, url)
    state.transcript = {
        "raw": "helo <b>world</b> how are you",
        "text": "Hello <b>world</b>, how are you?",
        "language": "en",
        "language_probability": 0.9,
        "duration": 2.1,
        "segments": [],
        "timings": {},
        "correction": {
            "raw": "helo <b>world</b> how are you",
            "corrected": "Hello <b>world</b>, how are you?",
            "degraded": False,
            "reason": None,
            "language": "en",
            "model": "stub-llm",
            "route": "primary",
            "changes": [{"op": "replace", "raw": "helo", "corrected": "Hello"}],
            "timings": {},
        },
    }
    audio = tmp_path / "clip.wav"
    audio.write_bytes(b"RIFF....WAVE")
    magics = magics_of(shell)
    magics.output_mode = "rich"
    result, captured = run(shell, f"%transcribe {audio} --lang en --out heard")
    magics.output_mode = "auto"
    assert result.success, captured.stderr
    _, path, headers, body = state.requests[-1]
    assert path.endswith("transcribe?language=en&correct=true") and body == b"RIFF....WAVE"
    assert headers["Content-Type"] == "audio/wav"
    bundle = captured.outputs[-1].data
    html_out = bundle["text/html"]
    assert "&lt;b&gt;world&lt;/b&gt;" in html_out and "<b>world</b>" not in html_out
    assert "<del" in html_out and "<ins" in html_out
    assert "Raw (language en, 2.1 s of audio):" in bundle["text/plain"]
    changes = "[-helo-] {+Hello+} [-<b>world</b>-] {+<b>world</b>,+} how are [-you-] {+you?+}"
    assert changes in bundle["text/plain"]
    heard = shell.user_ns["heard"]
    assert isinstance(heard, TranscriptResult) and heard.text.startswith("Hello")
    run(shell, f"%transcribe {audio} --raw")
    assert state.requests[-1][1].endswith("correct=false")


def test_word_diff_uses_full_server_changes_or_difflib() -> None:
    raw, fixed = "i has a apple", "I have an apple."
    diff = word_diff(raw, fixed)
    assert diff_text(diff) == "[-i-] {+I+} [-has-] {+have+} [-a-] {+an+} [-apple-] {+apple.+}"
    rebuilt = " ".join(s.corrected if s.op != "equal" else s.raw for s in diff if s.op != "delete")
    assert rebuilt.split() == fixed.split()
    server = [
        {"op": "equal", "raw": "see", "corrected": "see"},
        {"op": "replace", "raw": "u", "corrected": "you"},
    ]
    assert [s.op for s in word_diff("see u", "see you", server)] == ["equal", "replace"]
    partial = [{"op": "replace", "raw": "u", "corrected": "you"}]  # no equal runs: recomputed
    assert [s.op for s in word_diff("see u", "see you", partial)] == ["equal", "replace"]


def test_answer_formats() -> None:
    assert extract_code("text\n```py\nx = 1\n```\nmore") == "x = 1"
    assert answer_bundle('```json\n{"a": 1}\n```', "json")["application/json"] == {"a": 1}
    assert "not valid JSON" in answer_bundle("{oops", "json")["text/plain"]
    assert answer_bundle("$$x^2$$", "math")["text/latex"] == "$$ x^2 $$"
    assert answer_bundle("x = 1", "code")["text/markdown"] == "```python\nx = 1\n```"
    stopped = answer_bundle("partial", "markdown", note="[stopped]")
    assert stopped["text/markdown"] == "partial\n\n*[stopped]*"
    assert (
        answer_bundle("<i>x</i>", "html", note="<n>")["text/html"]
        == "<i>x</i><p><em>&lt;n&gt;</em></p>"
    )
