"""Voice latency of the streaming endpoint with the demo models: first partial, and final result.

Starts a real jupyter server with the neira extension (demo Whisper tiny.en
and Gemma 270M), streams an espeak-ng sentence over ``WS api/transcribe/stream``
in 100 ms frames **at real-time pace** (as a microphone would), and measures:

* start of speech -> first partial with text: from sending the frame in which
  the speech begins to receiving the first non-empty partial;
* end of speech -> final result: from sending the frame in which the speech
  ends (the rest is trailing silence, then ``stop``) to receiving ``final``,
  with correction on and off.

Prints the median of ``--runs`` runs (and each run). Usage::

    python benchmarks/bench_voice.py --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import wave
from pathlib import Path

import numpy as np
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.audio_fixtures import SENTENCES, speak  # noqa: E402

FRAME = 1600  # samples, 100 ms


def speech_bounds(samples: np.ndarray) -> tuple[int, int]:
    """First and last 100 ms frame index holding speech (RMS above -40 dBFS)."""
    frames = samples[: samples.size // FRAME * FRAME].reshape(-1, FRAME).astype(np.float64)
    loud = np.flatnonzero(np.sqrt(np.mean((frames / 32768) ** 2, axis=1)) > 0.01)
    return int(loud[0]), int(loud[-1])


async def one_run(
    url: str, token: str, pcm: np.ndarray, correct: bool
) -> tuple[float, float, float]:
    request = HTTPRequest(url, headers={"Authorization": f"token {token}"})
    ws = await websocket_connect(request)
    first_speech, last_speech = speech_bounds(pcm)
    sent: dict[int, float] = {}
    first_partial: float | None = None
    final_at: float | None = None

    async def read() -> None:
        nonlocal first_partial, final_at
        while True:
            message = json.loads(await ws.read_message())
            now = time.perf_counter()
            if (
                message["type"] == "partial"
                and first_partial is None
                and message["confirmed"] + message["tentative"]
            ):
                first_partial = now
            if message["type"] in {"final", "error"}:
                assert message["type"] == "final", message
                final_at = now
                return

    await ws.write_message(json.dumps({"type": "start", "language": "en", "correct": correct}))
    reader = asyncio.ensure_future(read())
    start = time.perf_counter()
    for index in range(pcm.size // FRAME):
        target = start + index * 0.1
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
        sent[index] = time.perf_counter()
        await ws.write_message(pcm[index * FRAME : (index + 1) * FRAME].tobytes(), binary=True)
    stopped = time.perf_counter()
    await ws.write_message(json.dumps({"type": "stop"}))
    await reader
    ws.close()
    assert first_partial is not None and final_at is not None
    # the frame holding the end of speech was sent when its last sample was "spoken"
    end_of_speech = sent[last_speech] + 0.1
    return first_partial - sent[first_speech], final_at - end_of_speech, final_at - stopped


def start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    port = 18000 + os.getpid() % 1000
    token = uuid.uuid4().hex
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(workdir), "JUPYTER_RUNTIME_DIR": str(workdir)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "server",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            "--ServerApp.jpserver_extensions={'neira_jupyter': True}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(
                base + "neira/api/status", headers={"Authorization": f"token {token}"}
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                status = json.loads(response.read())
            if all(m["state"] in {"ready", "failed"} for m in status["models"]):
                return process, f"ws://127.0.0.1:{port}/neira/api/transcribe/stream", token
        except OSError:
            pass
        time.sleep(0.5)
    process.kill()
    raise TimeoutError("the server did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        clip = speak(SENTENCES["en"][1], "en", workdir)
        with wave.open(str(clip)) as source:
            speech = np.frombuffer(source.readframes(source.getnframes()), "<i2")
        silence = np.zeros(16000, np.int16)
        pcm = np.concatenate([silence[:8000], speech, silence])
        process, url, token = start_server(workdir)
        try:
            for correct in (False, True):
                firsts, finals, stops = [], [], []
                asyncio.run(one_run(url, token, pcm, correct))  # warm-up
                for _ in range(args.runs):
                    first, final, stop = asyncio.run(one_run(url, token, pcm, correct))
                    firsts.append(first * 1000)
                    finals.append(final * 1000)
                    stops.append(stop * 1000)
                label = "with correction" if correct else "no correction"
                print(f"[{label}] runs: {args.runs}, clip {speech.size / 16000:.1f} s of speech")
                print(
                    f"  start of speech -> first partial: median {statistics.median(firsts):.0f} ms"
                    f"  (runs: {', '.join(f'{x:.0f}' for x in firsts)})"
                )
                print(
                    f"  end of speech -> final result:    median {statistics.median(finals):.0f} ms"
                    f"  (runs: {', '.join(f'{x:.0f}' for x in finals)}; "
                    "includes the 1 s of silence streamed before stop)"
                )
                print(
                    f"  stop -> final result:             median {statistics.median(stops):.0f} ms"
                    f"  (runs: {', '.join(f'{x:.0f}' for x in stops)})"
                )
        finally:
            process.terminate()
            process.wait(30)


if __name__ == "__main__":
    main()
