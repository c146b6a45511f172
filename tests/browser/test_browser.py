"""The recording widget and the Dictate button in a real browser with a (fake) real microphone.

A real ``jupyter lab`` (fixed token, ``expose_app_in_browser``, the neira
server extension, the lab extension from ``neira_jupyter/labextension``) runs
with the demo models; headless Chromium from Debian, driven by
``playwright-core`` (``drive.mjs``), plays an espeak-ng WAV of a known
sentence as its microphone. Screenshots go to ``test-artifacts/``.

Needs ``scripts/setup_browser.sh`` (Chromium, ``npm install`` here). Outside
CI the tests skip when that is missing; with ``CI`` set they fail instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jiwer
import pytest

from tests.audio_fixtures import speak

pytestmark = pytest.mark.browser

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("NEIRA_CHROMIUM", "/usr/bin/chromium")
SENTENCE = "Please send the report to my manager before Friday."
NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "recorder",
            "metadata": {},
            "outputs": [],
            "source": [
                "from neira_jupyter.kernel.widget import Recorder\n",
                "rec = Recorder(language='en')\n",
                "rec",
            ],
        }
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}
EMPTY_NOTEBOOK = {
    **NOTEBOOK,
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "target",
            "metadata": {},
            "outputs": [],
            "source": [],
        }
    ],
}


def words(text: str) -> str:
    return re.sub(r"[^\w\s']", " ", text.lower()).strip()


def missing_setup() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (scripts/setup_browser.sh installs it)"
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        return "playwright-core is not installed (run scripts/setup_browser.sh)"
    return None


@pytest.fixture(scope="module", autouse=True)
def browser_setup() -> None:
    reason = missing_setup()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run: {reason}")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def padded_clip(directory: Path) -> tuple[Path, float]:
    """The sentence with 0.5 s of silence before and 1.5 s after; returns (wav, speech end s)."""
    source = speak(SENTENCE, "en", directory)
    with wave.open(str(source)) as clip:
        frames = clip.readframes(clip.getnframes())
        rate = clip.getframerate()
    target = directory / "browser-microphone.wav"
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(rate) + frames + bytes(3 * rate))
    return target, 0.5 + len(frames) / 2 / rate


class Lab:
    """A running ``jupyter lab`` for the browser tests."""

    def __init__(self, root: Path, port: int, token: str, process: subprocess.Popen[bytes]):
        self.root = root
        self.port = port
        self.token = token
        self.process = process
        self.url = f"http://127.0.0.1:{port}/"

    def get(self, path: str) -> Any:
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("lab")
    root, config, data, runtime, labext = (
        base / n for n in ("root", "config", "data", "rt", "ext")
    )
    for folder in (root, config, data, runtime, labext):
        folder.mkdir()
    built = ROOT / "neira_jupyter" / "labextension"
    if (built / "package.json").is_file():
        (labext / "neira-jupyter").symlink_to(built)
    (config / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "ServerApp": {"jpserver_extensions": {"neira_jupyter": True}},
                "LabApp": {"extra_labextensions_path": [str(labext)]},
            }
        )
    )
    port, token = free_port(), uuid.uuid4().hex
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_DATA_DIR": str(data),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "NEIRA_CACHE_DIR": os.environ.get(
            "NEIRA_CACHE_DIR", str(Path.home() / ".cache" / "neira-jupyter")
        ),
    }
    log = (base / "lab.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            "--LabApp.expose_app_in_browser=True",
            f"--ServerApp.root_dir={root}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Lab(root, port, token, process)
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {(base / 'lab.log').read_text()[-3000:]}")
            try:
                status = server.get("neira/api/status")
            except OSError:
                status = None
            if status and all(
                m["state"] in {"ready", "failed"}
                for m in status["models"]
                if m["role"] != "fallback"  # loaded only under memory pressure
            ):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"lab not ready: {status}")
            time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        if ARTIFACTS.is_dir():
            shutil.copy(base / "lab.log", ARTIFACTS / "lab.log")


def drive(lab: Lab, scenario: str, notebook: str, wav: Path, clip_seconds: float) -> dict[str, Any]:
    options = {
        "scenario": scenario,
        "url": lab.url,
        "token": lab.token,
        "notebook": notebook,
        "wav": str(wav),
        "clipSeconds": clip_seconds,
        "artifacts": str(ARTIFACTS),
        "chromium": CHROMIUM,
    }
    done = subprocess.run(
        ["node", str(HERE / "drive.mjs"), json.dumps(options)],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert "failure" not in result, json.dumps(result, indent=1)
    return result


def kernel_value(lab: Lab, notebook: str, expression: str) -> Any:
    """Evaluate ``expression`` in ``notebook``'s kernel and return its JSON value."""
    from jupyter_client import BlockingKernelClient

    sessions = [s for s in lab.get("api/sessions") if s["path"] == notebook]
    assert len(sessions) == 1, sessions
    kernel_id = sessions[0]["kernel"]["id"]
    client = BlockingKernelClient()
    client.load_connection_file(str(lab.root.parent / "rt" / f"kernel-{kernel_id}.json"))
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        outputs: list[str] = []

        def keep(message: dict[str, Any]) -> None:
            if message["msg_type"] == "stream":
                outputs.append(message["content"]["text"])

        reply = client.execute_interactive(
            f"import json; print(json.dumps({expression}))", output_hook=keep, timeout=60
        )
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
    return json.loads("".join(outputs))


def test_recorder_widget_streams_partials_and_delivers_the_result(lab: Lab, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    wav, speech_end = padded_clip(tmp_path)
    (lab.root / "recorder.ipynb").write_text(json.dumps(NOTEBOOK))
    seen = drive(lab, "widget", "recorder.ipynb", wav, speech_end + 1.0)
    assert seen["partialBeforeStop"], seen
    assert seen["stateAtPartial"] == "recording"
    assert seen["state"] == "done", seen
    assert jiwer.wer(words(SENTENCE), words(seen["text"])) < 0.35, seen
    kernel = kernel_value(
        lab, "recorder.ipynb", '{"value": rec.value, "raw": rec.raw, "status": rec.status}'
    )
    assert kernel["value"] == seen["text"]
    assert kernel["raw"] == seen["raw"]
    assert kernel["status"] == "done"
    assert (ARTIFACTS / "widget-final.png").is_file()


def test_dictate_button_inserts_text_into_the_active_cell(lab: Lab, tmp_path: Path) -> None:
    if not (ROOT / "neira_jupyter" / "labextension" / "package.json").is_file():
        pytest.fail("the lab extension is not built (pip install -e . builds it)")
    ARTIFACTS.mkdir(exist_ok=True)
    wav, speech_end = padded_clip(tmp_path)
    (lab.root / "dictate.ipynb").write_text(json.dumps(EMPTY_NOTEBOOK))
    seen = drive(lab, "dictate", "dictate.ipynb", wav, speech_end + 1.0)
    assert seen["state"] == "done", seen
    assert jiwer.wer(words(SENTENCE), words(seen["cellText"])) < 0.35, seen
    assert (ARTIFACTS / "dictate-inserted.png").is_file()
