"""Speech scale-out: ``speech_remote_url`` against a real neira server on loopback.

The remote side is a second jupyter server with the extension and the demo
Whisper model, started as a subprocess (``remote``); its
``neira/v1/audio/transcriptions`` is the OpenAI-compatible transcription
route the client posts to, and its token is the API key. The server under
test (pytest-jupyter) is configured to send transcriptions there, whole
files and live streams' windows: as its only speech backend (``speech_local``
off), for overflow (waiting files; live finals), without
``allow_external_api`` (not used: a clear 503), and with a wrong key or
model (a clear 502 that names the server, never the key). A small stdlib
server that answers only ``response_format=json`` and a port nobody listens
on check the client's fallbacks and errors.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jiwer
import numpy as np
import pytest
from tornado.httpclient import HTTPClientError

from neira_jupyter.engine.config import ConfigError, build_engine_config
from neira_jupyter.engine.speech import (
    SAMPLE_RATE,
    RemoteSpeechError,
    RemoteSpeechSpec,
    RemoteTranscriber,
)
from neira_jupyter.server.app import NeiraApp
from tests.conftest import Fetch, get_status, loads_model
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.helpers import remote_spec, words
from tests.support.neira_http import error_message
from tests.support.speech_streams import check_stream, pcm_of, stream

SENTENCE = SENTENCES["en"][1]


@dataclass(frozen=True)
class Remote:
    """The remote neira server: its OpenAI-compatible base URL and its token."""

    v1: str
    token: str


@pytest.fixture(scope="module")
@loads_model
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remote]:
    """A real jupyter server with neira's demo Whisper model (no LLM), on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    folder = tmp_path_factory.mktemp("remote-neira")
    log = folder / "server.log"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(folder / "runtime")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
             "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={folder}", "--ServerApp.terminals_enabled=False",
             "--NeiraApp.llm_enabled=False"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}/neira"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"jupyter server exited: {log.read_text()[-2000:]}")
            request = urllib.request.Request(
                f"{base}/api/status", headers={"Authorization": f"token {token}"}
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    status = json.load(answer)
                speech = [m for m in status["models"] if m["role"] == "speech"]
                if speech and speech[0]["state"] == "ready":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the remote speech model is not ready: {log.read_text()}")
            time.sleep(0.3)
        yield Remote(f"{base}/v1", token)
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture
def speech_options() -> dict[str, Any]:
    """What a test changes in the server's speech options."""
    return {}


@pytest.fixture
def neira_config(remote: Remote, speech_options: dict[str, Any]) -> dict[str, Any]:
    return {
        "llm_enabled": False,
        "speech_local": False,
        "speech_remote_url": remote.v1,
        "speech_remote_api_key": remote.token,
        "allow_external_api": True,
        **speech_options,
    }


async def transcribe(jp_fetch: Fetch, wav: Path) -> dict[str, Any]:
    response = await jp_fetch(
        "neira", "api", "transcribe", method="POST", body=wav.read_bytes(),
        headers={"Content-Type": "audio/wav"}, params={"correct": "false", "language": "en"},
        request_timeout=300,
    )  # fmt: skip
    heard: dict[str, Any] = json.loads(response.body)
    return heard


async def test_remote_only_speech_transcribes_and_says_so(
    jp_fetch: Fetch,
    jp_ws_fetch: Any,
    jp_serverapp: Any,
    jp_http_port: int,
    jp_base_url: str,
    remote: Remote,
    audio_dir: Path,
) -> None:
    status = await get_status(jp_fetch)
    (speech,) = [m for m in status["models"] if m["kind"] == "speech"]
    assert speech["role"] == "remote" and speech["name"] == "remote:whisper-1"
    assert (speech["url"], speech["device"], speech["state"]) == (remote.v1, "remote", "ready")
    assert remote.token not in json.dumps(status)
    assert "speech-remote" in status["queue"]["lanes"]

    wav = speak(SENTENCE, "en", audio_dir)
    heard = await transcribe(jp_fetch, wav)
    assert (heard["route"], heard["model"]) == ("remote", "remote:whisper-1")
    assert jiwer.wer(words(SENTENCE), words(heard["raw"])) < 0.3, heard["raw"]
    assert heard["language"] == "en" and heard["duration"] > 1
    assert heard["segments"] and heard["segments"][0]["start"] >= 0
    assert heard["timings"]["transcribe_ms"] > 0

    # the OpenAI-compatible route of this server goes the same way
    v1 = f"http://localhost:{jp_http_port}{jp_base_url}neira/v1/audio/transcriptions"
    token = jp_serverapp.identity_provider.token
    async with httpx.AsyncClient(timeout=300) as client:
        answer = await client.post(
            v1,
            headers={"Authorization": f"Bearer {token}"},
            data={"model": "whisper-1", "language": "en"},
            files={"file": ("speech.wav", wav.read_bytes(), "audio/wav")},
        )
    assert answer.status_code == 200, answer.text
    assert jiwer.wer(words(SENTENCE), words(answer.json()["text"])) < 0.3

    # a live stream goes there too: partials and the final, window by window
    ws = await jp_ws_fetch("neira", "api", "transcribe", "stream")
    messages = await stream(ws, pcm_of([wav]), {"language": "en", "correct": False})
    ws.close()
    assert messages[0]["model"] == "remote:whisper-1"
    check_stream(messages, SENTENCE)


@pytest.mark.parametrize("speech_options", [{"allow_external_api": False}])
async def test_without_allow_external_api_the_remote_is_not_used(
    jp_fetch: Fetch, audio_dir: Path
) -> None:
    status = await get_status(jp_fetch)
    assert any("allow_external_api is off" in note for note in status["notes"])
    with pytest.raises(HTTPClientError) as error:
        await transcribe(jp_fetch, speak(SENTENCE, "en", audio_dir))
    assert error.value.code == 503
    message = error_message(error.value)
    assert "allow_external_api is off" in message


@pytest.mark.parametrize(
    ("speech_options", "said"),
    [
        ({"speech_remote_api_key": "wrong-key"}, "rejected the API key (HTTP 401)"),
        ({"speech_remote_model": "no-such-model"}, "has no such model (HTTP 404)"),
    ],
)
async def test_remote_errors_are_clear_502s_without_the_key(
    jp_fetch: Fetch,
    remote: Remote,
    audio_dir: Path,
    said: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(HTTPClientError) as error:
        await transcribe(jp_fetch, speak(SENTENCE, "en", audio_dir))
    assert error.value.code == 502
    message = error_message(error.value)
    assert f"remote speech API {remote.v1} {said}" in message, message
    status = await get_status(jp_fetch)
    (backend,) = [m for m in status["models"] if m["role"] == "remote"]
    assert said in backend["error"]
    for text in (message, json.dumps(status), caplog.text):
        assert remote.token not in text and "wrong-key" not in text


@pytest.mark.parametrize(
    "speech_options", [{"speech_local": True, "speech_remote_overflow_queue": 1}]
)
async def test_overflow_sends_waiting_transcriptions_to_the_remote(
    jp_fetch: Fetch, audio_dir: Path
) -> None:
    wav = speak(SENTENCE, "en", audio_dir)
    first = await transcribe(jp_fetch, wav)  # waits for the local model to load
    assert (first["route"], first["model"]) == ("local", "whisper-base-demo")
    heard = await asyncio.gather(*(transcribe(jp_fetch, wav) for _ in range(4)))
    routes = [h["route"] for h in heard]
    assert "local" in routes and "remote" in routes, routes
    for h in heard:
        assert jiwer.wer(words(SENTENCE), words(h["raw"])) < 0.3, h


@pytest.mark.parametrize(
    "speech_options", [{"speech_local": True, "speech_remote_overflow_queue": 1}]
)
async def test_live_finals_that_would_wait_go_to_the_remote(
    jp_fetch: Fetch, jp_ws_fetch: Any, audio_dir: Path
) -> None:
    """Six dictations stop together: the finals beyond the one waiting for the local lane
    go to the remote; partials stay local; every final is right."""
    pcm = pcm_of([speak(SENTENCE, "en", audio_dir)], pause_s=0.3)
    sockets = [await jp_ws_fetch("neira", "api", "transcribe", "stream") for _ in range(6)]
    start = {"language": "en", "correct": False}
    streams = await asyncio.gather(*(stream(ws, pcm, start, pace_s=0.01) for ws in sockets))
    for ws in sockets:
        ws.close()
    for messages in streams:
        assert messages[0]["model"] == "whisper-base-demo"  # the local model serves the stream
        final = messages[-1]
        assert final["type"] == "final", final
        assert jiwer.wer(words(SENTENCE), words(final["raw"])) < 0.35, final["raw"]
    lane = (await get_status(jp_fetch))["speech_lane"]
    assert lane["remote"] >= 1, lane  # some finals overflowed ...
    assert lane["windows"] >= 1 and lane["partials"] >= 1, lane  # ... the rest stayed here


NEEDS = "needs speech_remote_url, speech_remote_model and allow_external_api"


def test_options_check_what_they_need() -> None:
    defaults = NeiraApp.option_defaults()
    with pytest.raises(ConfigError, match=NEEDS):
        build_engine_config({**defaults, "speech_remote_overflow_queue": 2})
    url = "http://user:secret@gpu:9000/v1"
    with pytest.raises(ConfigError, match=NEEDS):
        build_engine_config(
            {**defaults, "speech_remote_url": url, "speech_remote_overflow_queue": 2}
        )
    with pytest.raises(ConfigError, match="speech_remote_model is empty"):
        build_engine_config({**defaults, "speech_remote_url": url, "speech_remote_model": ""})
    config = build_engine_config(
        {**defaults, "speech_local": False, "speech_remote_url": url, "speech_remote_api_key": "k"}
    )
    assert config.speech is None
    spec = config.speech_remote
    assert isinstance(spec, RemoteSpeechSpec)
    assert (spec.model, spec.api_key, spec.public_url) == ("whisper-1", "k", "http://gpu:9000/v1")
    assert "secret" not in repr(spec) and "'k'" not in repr(spec)


class _Refuses(http.server.BaseHTTPRequestHandler):
    """A transcription server that answers only ``response_format=json``."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        verbose = b"verbose_json" in body
        answer = {"error": {"message": "response_format 'verbose_json' is not supported"}}
        payload = json.dumps(answer if verbose else {"text": " hello there "}).encode()
        self.send_response(400 if verbose else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


def test_json_only_servers_and_unreachable_ones() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refuses)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    audio = np.zeros(SAMPLE_RATE, dtype=np.float32)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        heard = RemoteTranscriber(remote_spec(url, "m", "speech_remote")).transcribe(audio, "en")
    finally:
        server.shutdown()
        server.server_close()
    assert (heard.text, heard.language, heard.route, heard.model) == (
        "hello there",
        "en",
        "remote",
        "remote:m",
    )
    assert heard.duration == 1.0 and [s.text for s in heard.segments] == ["hello there"]
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = remote_spec(
        f"http://u:pw@127.0.0.1:{port}/v1", "m", "speech_remote", api_key="k", timeout_s=2
    )
    with pytest.raises(RemoteSpeechError, match=r"failed: ConnectError") as error:
        RemoteTranscriber(spec).transcribe(audio)
    assert error.value.status == 502 and "pw" not in str(error.value)
