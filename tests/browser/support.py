"""What the browser tests share: a real Jupyter server (JupyterLab or Notebook 7), the
microphone clip, the Chromium driver (``drive.mjs``) and a look into a notebook's kernel.

The server is started with this checkout first on ``PYTHONPATH`` and with this
checkout's built lab extension (``neira_jupyter/labextension``) first on the
lab-extension path, ahead of any copy installed in the environment's
``share/jupyter/labextensions``; ``Server.loaded_extension`` tells which build
the page was given, so a test can check it is this one.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.support.audio_fixtures import speak

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
BUILT = ROOT / "neira_jupyter" / "labextension"
CHROMIUM = os.environ.get("NEIRA_CHROMIUM", "/usr/bin/chromium")
SENTENCE = "Please send the report to my manager before Friday."
THEMES = ("light", "dark")
App = Literal["lab", "notebook"]


def code_cell(cell_id: str, *lines: str) -> dict[str, Any]:
    """A notebook code cell holding ``lines``."""
    source = [line + "\n" for line in lines[:-1]] + list(lines[-1:])
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": {},
        "outputs": [],
        "source": source,
    }


def notebook(*cells: dict[str, Any]) -> str:
    """A Python 3 notebook document (JSON text) with ``cells``."""
    return json.dumps(
        {
            "cells": list(cells),
            "metadata": {
                "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


RECORDER_CELL = code_cell(
    "recorder",
    "from neira_jupyter.kernel.widget import Recorder",
    "rec = Recorder(language='en')",
    "rec",
)


def missing_setup() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (scripts/setup_browser.sh installs it)"
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        return "playwright-core is not installed (run scripts/setup_browser.sh)"
    if not (BUILT / "package.json").is_file():
        return "the lab extension is not built (pip install -e . or npm run build builds it)"
    return None


def require_browser() -> None:
    """Skip (fail under CI) when Chromium, playwright-core or the built extension is missing."""
    reason = missing_setup()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run: {reason}")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def padded_clip(directory: Path, source: Path | None = None) -> tuple[Path, float]:
    """The sentence (or the clip ``source``) with 0.5 s of silence before and 1.5 s after;
    returns (wav, speech end s)."""
    source = source or speak(SENTENCE, "en", directory)
    with wave.open(str(source)) as clip:
        frames = clip.readframes(clip.getnframes())
        rate = clip.getframerate()
    target = directory / f"browser-microphone-{source.stem}.wav"
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(rate) + frames + bytes(3 * rate))
    return target, 0.5 + len(frames) / 2 / rate


class Server:
    """A running ``jupyter lab`` or ``jupyter notebook`` for the browser tests."""

    def __init__(self, app: App, base: Path, port: int, token: str) -> None:
        self.app = app
        self.base = base
        self.root = base / "root"
        self.port = port
        self.token = token
        self.url = f"http://127.0.0.1:{port}/"

    def get(self, path: str) -> Any:
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def ready(self) -> bool:
        """The neira API answers and every model but the fallback has loaded (or failed)."""
        try:
            status = self.get("neira/api/status")
        except OSError:
            return False
        return all(
            m["state"] in {"ready", "failed"}
            for m in status["models"]
            if m["role"] != "fallback"  # loaded only under memory pressure
        )

    def page_path(self, notebook_path: str) -> str:
        """The URL path that opens ``notebook_path`` in this app."""
        if self.app == "lab":
            return f"lab/tree/{notebook_path}?reset"  # reset: only this notebook is open
        return f"notebooks/{notebook_path}?"


@contextmanager
def jupyter_server(app: App, base: Path) -> Iterator[Server]:
    """Start ``jupyter {app}`` with the neira extensions from this checkout; stop it after."""
    config, data, runtime, labext = (base / n for n in ("config", "data", "rt", "ext"))
    for folder in (base / "root", config, data, runtime, labext):
        folder.mkdir()
    (labext / "neira-jupyter").symlink_to(BUILT)
    app_config = "LabApp" if app == "lab" else "JupyterNotebookApp"
    # searched before the environment's share/jupyter/labextensions; for both apps, because
    # `jupyter notebook` serves lab extensions' files through JupyterLab's /lab/extensions/
    extensions = {"extra_labextensions_path": [str(labext)]}
    # this checkout's own server config (what installing it writes), with its chat settings
    own = json.loads((ROOT / "jupyter-config" / "server-config" / "neira_jupyter.json").read_text())
    (config / "jupyter_server_config.json").write_text(
        json.dumps({**own, "LabApp": extensions, "JupyterNotebookApp": extensions})
    )
    # no "Would you like to get notified about Jupyter news?" toast over the screenshots
    (config / "labconfig").mkdir()
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    server = Server(app, base, free_port(), uuid.uuid4().hex)
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
    log_path = base / f"{app}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                app,
                "--no-browser",
                "--allow-root",
                f"--port={server.port}",
                "--ip=127.0.0.1",
                f"--IdentityProvider.token={server.token}",
                f"--{app_config}.expose_app_in_browser=True",
                f"--ServerApp.root_dir={server.root}",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 180
            while not server.ready():
                if process.poll() is not None:
                    raise RuntimeError(f"jupyter {app} exited: {log_path.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"jupyter {app} not ready: {log_path.read_text()[-3000:]}")
                time.sleep(0.5)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(log_path, ARTIFACTS / log_path.name)


def built_remote_entry() -> str:
    """The file name of this checkout's built ``remoteEntry.*.js``."""
    entries = sorted(p.name for p in (BUILT / "static").glob("remoteEntry.*.js"))
    assert len(entries) == 1, entries
    return entries[0]


def drive(
    server: Server, scenario: str, notebook_path: str, wav: Path, clip_seconds: float, theme: str
) -> dict[str, Any]:
    """Run ``drive.mjs``'s ``scenario`` in headless Chromium; returns what the page showed."""
    ARTIFACTS.mkdir(exist_ok=True)
    options = page_options(
        server, notebook_path, theme, app=server.app, scenario=scenario, wav=str(wav),
        clipSeconds=clip_seconds,
    )  # fmt: skip
    return run_page_script("drive.mjs", options)


def page_options(server: Server, page: str, theme: str, **extra: Any) -> dict[str, Any]:
    """What every page script is given (the server, the page to open at ``page``, the
    theme, where screenshots go, the browser), plus the script's own ``extra``."""
    return {
        "theme": theme,
        "url": server.url,
        "page": server.page_path(page),
        "token": server.token,
        "artifacts": str(ARTIFACTS),
        "chromium": CHROMIUM,
        **extra,
    }


def run_page_script(script: str, options: dict[str, Any]) -> dict[str, Any]:
    """Run a page script of this folder (``drive.mjs``, ``complete.mjs``) with ``options``;
    returns the JSON its last line reports, checked for a failure and for this checkout's
    build of the lab extension (not an installed copy)."""
    done = subprocess.run(
        ["node", str(HERE / script), json.dumps(options)],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert "failure" not in result, json.dumps(result, indent=1)
    assert result["extensionEntry"].endswith(built_remote_entry()), result["extensionEntry"]
    return result


def kernel_value(server: Server, notebook_path: str, expression: str) -> Any:
    """Evaluate ``expression`` in ``notebook_path``'s kernel and return its JSON value."""
    from jupyter_client import BlockingKernelClient

    sessions = [s for s in server.get("api/sessions") if s["path"] == notebook_path]
    assert len(sessions) == 1, sessions
    kernel_id = sessions[0]["kernel"]["id"]
    client = BlockingKernelClient()
    client.load_connection_file(str(server.base / "rt" / f"kernel-{kernel_id}.json"))
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


def type_and_accept(server: Server, page: str, theme: str, **extra: Any) -> dict[str, Any]:
    """Run ``complete.mjs`` on ``page``: type ``def add(a, b): return``, take the suggestion
    with Tab (``extra``: its other options, e.g. ``editor="file"``, ``keyDelay``)."""
    return run_page_script("complete.mjs", page_options(server, page, theme, **extra))
