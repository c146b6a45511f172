"""A stub of the neira API for the magics' tests: a tiny stdlib HTTP server in a thread.

It answers ``status``, ``generate`` (NDJSON or one document), ``requests/<id>``
and ``transcribe`` under a base_url of ``/base/``, with documents built from
the protocol models (``neira_jupyter.protocol``), only to check how the
kernel's client parses them and maps errors (429, 503, 403, 404, error
events); ``StubState`` says what it answers and records what it was asked.
The ``stub`` fixture in ``tests/kernel/conftest.py`` runs one per test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from neira_jupyter.protocol import (
    CorrectedMessage,
    DoneEvent,
    ErrorBody,
    ErrorEvent,
    GenerateRequest,
    GenerateResult,
    ModelInfo,
    StartEvent,
    StatusDocument,
    TokenEvent,
    TranscribedEvent,
    TranscribeDoneEvent,
    TranscribeResult,
    WireModel,
)

TOKEN = "stub-token"


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
    transcribe_error: str | None = None  # a streamed transcription fails with it once heard
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


def _transcription_events(transcript: dict[str, Any]) -> list[WireModel]:
    """A streamed transcription of ``transcript``: heard, its correction as one piece, done."""
    correction = transcript.get("correction") or {}
    piece = CorrectedMessage(
        first=0,
        end=1,
        raw=transcript["raw"],
        text=correction.get("corrected", transcript["raw"]),
        degraded=correction.get("degraded", False),
        covered_words=len(transcript["raw"].split()),
    )
    heard = {k: v for k, v in transcript.items() if k not in ("text", "correction")}
    return [
        TranscribedEvent.model_validate(heard),
        piece,
        TranscribeDoneEvent.model_validate(transcript),
    ]


class StubHandler(BaseHTTPRequestHandler):
    """docs/api.md, just enough of it: status, generate (NDJSON), cancel, transcribe (one
    document, or NDJSON with ``stream=true``)."""

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
        elif method == "POST" and endpoint == "transcribe" and "stream=true" in self.path:
            events = _transcription_events(self.state.transcript or {})
            if self.state.transcribe_error is not None:
                events[1:] = [ErrorEvent(status=503, message=self.state.transcribe_error)]
            self._ndjson(events)
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
        self._ndjson(events)

    def _ndjson(self, events: list[WireModel]) -> None:
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


@contextmanager
def serve_stub() -> Iterator[tuple[str, StubState]]:
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
