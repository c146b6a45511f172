"""``RemoteModel`` against real HTTP servers: llama-cpp-python's own OpenAI-compatible
server on the demo GGUF, and small stdlib servers that misbehave on purpose
(error statuses, an endless event line, a server that stalls).
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from neira_jupyter.engine import models
from neira_jupyter.engine.config import ConfigError, build_engine_config
from neira_jupyter.engine.generation import GenerationEvents, GenerationStart
from neira_jupyter.engine.llm import TokenChunk
from neira_jupyter.engine.llm.remote import MAX_EVENT_BYTES, RemoteModel
from neira_jupyter.engine.models import DEMO_LLM_NAME
from neira_jupyter.engine.service import NeiraEngine
from neira_jupyter.engine.types import (
    CancelToken,
    ChatMessage,
    EngineError,
    GenerationOptions,
    GenerationResult,
)
from neira_jupyter.server.app import NeiraApp
from tests.conftest import loads_model
from tests.support.helpers import remote_spec

HI = [ChatMessage("user", "hi")]


def chunk(text: str, finish: str | None = None) -> bytes:
    event = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}
    return f"data: {json.dumps(event)}\n\n".encode()


class _Stub(http.server.BaseHTTPRequestHandler):
    """``POST /v1/chat/completions``, answered by the test's ``behave(handler, body)``."""

    behave: ClassVar[Callable[[_Stub, dict[str, Any]], None]]
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Stub.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        type(self).behave(self, body)

    def events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[Callable[[Callable[[_Stub, dict[str, Any]], None]], str]]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def serve(behave: Callable[[_Stub, dict[str, Any]], None]) -> str:
        handler = type("Handler", (_Stub,), {"behave": staticmethod(behave)})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_streams_chunks_usage_and_finish_reason(stub: Any) -> None:
    def answer(h: _Stub, _body: dict[str, Any]) -> None:
        h.events()
        for piece in ("Hel", "lo", "!"):
            h.wfile.write(chunk(piece))
        last = {
            "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3},
        }
        h.wfile.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())

    model = RemoteModel(remote_spec(stub(answer), "served-model", api_key="k"))
    events = list(model.generate(HI, GenerationOptions(max_tokens=3, stop=("x",))))
    assert [e.text for e in events[:-1] if isinstance(e, TokenChunk)] == ["Hel", "lo", "!"]
    result = events[-1]
    assert isinstance(result, GenerationResult)
    assert (result.text, result.finish_reason) == ("Hello!", "length")
    assert result.usage.total_tokens == 10
    sent = _Stub.seen[-1]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer k"
    assert sent["model"] == "served-model" and sent["stream"] is True and sent["stop"] == ["x"]


def test_unreachable_remote_is_an_engine_error() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = RemoteModel(remote_spec(f"http://127.0.0.1:{port}/v1", "m", timeout_s=2))
    with pytest.raises(EngineError, match=r"remote API .* failed: ConnectError"):
        list(model.generate(HI, GenerationOptions()))


def test_error_status_says_what_the_server_said(stub: Any) -> None:
    def refuse(h: _Stub, _body: dict[str, Any]) -> None:
        payload = json.dumps({"error": {"message": "Incorrect API key provided"}}).encode()
        h.send_response(401)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    model = RemoteModel(remote_spec(stub(refuse), "m", api_key="wrong"))
    with pytest.raises(EngineError) as caught:
        list(model.generate(HI, GenerationOptions()))
    assert "rejected the API key (HTTP 401): Incorrect API key provided" in str(caught.value)
    assert "wrong" not in str(caught.value)


def test_an_endless_event_line_is_refused(stub: Any) -> None:
    def flood(h: _Stub, _body: dict[str, Any]) -> None:
        h.events()
        h.wfile.write(b"data: ")
        for _ in range(MAX_EVENT_BYTES // 65536 + 2):
            h.wfile.write(b"x" * 65536)

    model = RemoteModel(remote_spec(stub(flood), "m"))
    with pytest.raises(EngineError, match="event longer than"):
        list(model.generate(HI, GenerationOptions()))


def test_a_silent_server_times_out(stub: Any) -> None:
    def stall(h: _Stub, _body: dict[str, Any]) -> None:
        h.events()
        h.wfile.write(chunk("a"))
        h.wfile.flush()
        time.sleep(3)

    model = RemoteModel(remote_spec(stub(stall), "m", timeout_s=0.3))
    with pytest.raises(EngineError, match=r"did not answer within 0.3 s \(ReadTimeout\)"):
        list(model.generate(HI, GenerationOptions()))


def test_cancelling_closes_the_connection(stub: Any) -> None:
    disconnected = threading.Event()

    def trickle(h: _Stub, _body: dict[str, Any]) -> None:
        h.events()
        try:
            for i in range(400):  # 20 s of one chunk every 50 ms, unless the client leaves
                h.wfile.write(chunk(f"t{i} "))
                h.wfile.flush()
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            disconnected.set()

    cancel = CancelToken()
    model = RemoteModel(remote_spec(stub(trickle), "m"))
    events = []
    for event in model.generate(HI, GenerationOptions(), cancel):
        events.append(event)
        if len(events) == 2:
            cancel.cancel()
    result = events[-1]
    assert isinstance(result, GenerationResult) and result.finish_reason == "cancelled"
    assert result.text == "t0 t1 "
    assert disconnected.wait(10), "the server kept writing to an open connection"


# -- a real OpenAI-compatible server: llama-cpp-python's, on the demo model ---------------


@pytest.fixture(scope="module")
@loads_model
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    demo = models.demo_llm_path()
    assert demo is not None, "the demo models are part of the test setup"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(demo), "--host",
             "127.0.0.1", "--port", str(port), "--n_ctx", "512", "--chat_format", "gemma",
             "--n_threads", "2"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(30)


def test_streams_from_llama_cpp_server(llama_server: str) -> None:
    model = RemoteModel(remote_spec(llama_server, "demo", timeout_s=60))
    options = GenerationOptions(max_tokens=8, temperature=0, seed=1)
    events = list(model.generate([ChatMessage("user", "Name a colour.")], options))
    chunks = [e for e in events if isinstance(e, TokenChunk)]
    result = events[-1]
    assert isinstance(result, GenerationResult) and chunks
    assert result.text == "".join(c.text for c in chunks) and result.text.strip()
    assert result.finish_reason in ("stop", "length")
    # llama-cpp-python's server sends no usage when streaming: the chunks are counted
    assert 0 < result.usage.completion_tokens <= 8
    assert result.timings.first_token_ms is not None


def test_cancelling_a_llama_cpp_server_generation(llama_server: str) -> None:
    model = RemoteModel(remote_spec(llama_server, "demo", timeout_s=60))
    cancel = CancelToken()
    events = []
    for event in model.generate(HI, GenerationOptions(max_tokens=200, temperature=0), cancel):
        events.append(event)
        cancel.cancel()  # after the first chunk
    result = events[-1]
    assert isinstance(result, GenerationResult) and result.finish_reason == "cancelled"
    assert len(events) == 2
    # the server is free again: the next request is answered
    again = list(model.generate(HI, GenerationOptions(max_tokens=2, temperature=0)))
    assert isinstance(again[-1], GenerationResult) and again[-1].finish_reason != "cancelled"


# -- the remote as capacity: overflow when the local model is busy --------------------


async def started(events: GenerationEvents) -> GenerationStart:
    """A generation's first event, which says who serves it."""
    start = await anext(events)
    assert isinstance(start, GenerationStart), start
    return start


async def test_a_busy_local_model_overflows_to_the_remote(llama_server: str) -> None:
    """With ``remote_overflow_queue=1``, the request that would wait behind another
    queued one goes to the remote server; an idle engine serves locally again."""
    options = {
        **NeiraApp.option_defaults(),
        "remote_url": llama_server,
        "remote_model": "demo",
        "allow_external_api": True,
        "remote_overflow_queue": 1,
        "llm_slots": 1,
        "eager_load": True,
    }
    engine = NeiraEngine(build_engine_config(options))
    engine.start()  # eager: the primary's load is queued on its lane, and is no request
    try:
        assert engine.scheduler.waiting(DEMO_LLM_NAME) == 0
        short = GenerationOptions(max_tokens=4, temperature=0)
        long = engine.generate(
            "alice", [ChatMessage("user", "Count from 1 to 300.")],
            GenerationOptions(max_tokens=300, temperature=0),
        )  # fmt: skip
        assert (await started(long)).route == "primary"
        assert isinstance(await anext(long), TokenChunk)  # running: the local lane is busy
        queued = engine.generate("bob", HI, short)
        assert (await started(queued)).route == "primary"  # nothing waits yet: it queues
        assert engine.scheduler.waiting(DEMO_LLM_NAME) == 1
        overflow = engine.generate("carol", HI, short)
        start = await started(overflow)
        assert start.route == "remote", start
        assert "remote_overflow_queue=1" in start.route_reason
        remote_events = [event async for event in overflow]
        result = remote_events[-1]
        assert isinstance(result, GenerationResult) and result.route == "remote"
        assert result.text.strip() and result.finish_reason in ("stop", "length")
        await long.aclose()  # cancels alice's answer; bob's runs next
        local_events = [event async for event in queued]
        assert isinstance(local_events[-1], GenerationResult)
        assert local_events[-1].route == "primary"
        idle = engine.generate("dave", HI, short)
        assert (await started(idle)).route == "primary"  # nothing waits: local again
        await idle.aclose()
    finally:
        await engine.stop()


def test_overflow_needs_a_remote_and_consent() -> None:
    options = {**NeiraApp.option_defaults(), "remote_overflow_queue": 2}
    with pytest.raises(ConfigError, match="remote_overflow_queue"):
        build_engine_config(options)
    options.update(remote_url="http://127.0.0.1:9/v1", remote_model="m")
    with pytest.raises(ConfigError, match="allow_external_api"):
        build_engine_config(options)
    config = build_engine_config({**options, "allow_external_api": True})
    assert config.router.overflow_queue == 2
