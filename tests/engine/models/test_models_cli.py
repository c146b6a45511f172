"""``jupyter neira models ...`` against a loopback hub: the real huggingface_hub download path.

A small HTTP server in this process answers huggingface_hub's
``/<repo>/resolve/<revision>/<file>`` requests (HEAD with the commit, ETag =
SHA-256 and size headers; GET with Range support), and the CLI runs as a
subprocess with ``HF_ENDPOINT`` pointed at it, as a user would run it. The
file served under the catalog's Phi-3 name is 24 MiB of random bytes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from neira_jupyter.engine.models import CATALOG

REPO = Path(__file__).resolve().parents[3]
ENTRY = CATALOG["phi-3-mini-4k"]
PINNED = CATALOG["bge-m3"]  # pinned to a commit and a SHA-256 that BLOB does not have
BLOB = os.urandom(24 * 2**20)  # more than two of huggingface_hub's 10 MB write chunks
SHA = hashlib.sha256(BLOB).hexdigest()


@dataclass
class Hub:
    """What the fake hub serves and what it was asked."""

    port: int = 0
    etag: str = SHA
    cut_next_get: bool = False  # send half the file, then drop the connection
    ranges: list[str | None] = field(default_factory=list)


def handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _known(self) -> bool:
            served = {
                f"/{entry.repo_id}/resolve/{entry.revision}/{entry.filename}"
                for entry in (ENTRY, PINNED)
            }
            if self.path.split("?")[0] in served:
                return True
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False

        def _headers(self, status: int, length: int) -> None:
            self.send_response(status)
            self.send_header("X-Repo-Commit", "a" * 40)
            self.send_header("ETag", f'"{hub.etag}"')
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(length))

        def do_HEAD(self) -> None:
            if self._known():
                self._headers(200, len(BLOB))
                self.end_headers()

        def do_GET(self) -> None:
            if not self._known():
                return
            asked = self.headers.get("Range")
            hub.ranges.append(asked)
            start = int(asked.removeprefix("bytes=").split("-")[0]) if asked else 0
            body = BLOB[start:]
            self._headers(206 if asked else 200, len(body))
            if asked:
                self.send_header("Content-Range", f"bytes {start}-{len(BLOB) - 1}/{len(BLOB)}")
            self.end_headers()
            if hub.cut_next_get:
                hub.cut_next_get = False
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def hub() -> Iterator[Hub]:
    state = Hub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def cli_env(hub: Hub, tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "HF_ENDPOINT": f"http://127.0.0.1:{hub.port}",
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "NEIRA_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("HF_HUB_OFFLINE", None)
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "neira_jupyter.cli", "models", *args]


def cli(hub: Hub, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args), env=cli_env(hub, tmp_path), capture_output=True, text=True, timeout=120
    )


def target(tmp_path: Path) -> Path:
    return tmp_path / "cache" / ENTRY.name / ENTRY.filename


def test_download_verify_remove(hub: Hub, tmp_path: Path) -> None:
    listed = cli(hub, tmp_path, "list")
    assert listed.returncode == 0, listed.stderr
    assert "phi-3-mini-4k" in listed.stdout and "not downloaded" in listed.stdout
    assert "2.23 GiB" in listed.stdout and "4 GiB" in listed.stdout
    assert "all-minilm-l6-v2-demo" in listed.stdout  # the demo embedding model is listed
    assert "bge-m3" in listed.stdout and "set as: embedding_model_path" in listed.stdout

    done = cli(hub, tmp_path, "download", ENTRY.name)
    assert done.returncode == 0, done.stderr
    assert target(tmp_path).read_bytes() == BLOB
    assert f"sha256 {SHA}" in done.stdout
    assert f"c.NeiraApp.primary_path = '{target(tmp_path)}'" in done.stdout
    assert "it/s]" in done.stderr or "B/s]" in done.stderr  # huggingface_hub's progress bar
    assert "downloaded" in cli(hub, tmp_path, "list").stdout

    ok = cli(hub, tmp_path, "verify", ENTRY.name)
    assert (ok.returncode, ok.stdout.strip()) == (0, f"{ENTRY.name}: OK")
    with target(tmp_path).open("r+b") as damaged:
        damaged.seek(1000)
        damaged.write(bytes([BLOB[1000] ^ 0xFF]))
    bad = cli(hub, tmp_path, "verify")
    assert bad.returncode == 1 and f"SHA-256 {SHA}" not in bad.stdout.split("expected")[0]

    gone = cli(hub, tmp_path, "remove", ENTRY.name)
    assert gone.returncode == 0 and "removed" in gone.stdout
    assert not (tmp_path / "cache" / ENTRY.name).exists()


def resumed_from(hub: Hub) -> int:
    """Where the last GET asked to start (its Range header)."""
    asked = hub.ranges[-1]
    assert asked is not None and asked.startswith("bytes="), hub.ranges
    return int(asked.removeprefix("bytes=").split("-")[0])


def test_a_dropped_connection_resumes_in_the_same_run(hub: Hub, tmp_path: Path) -> None:
    hub.cut_next_get = True
    result = cli(hub, tmp_path, "download", ENTRY.name)
    assert result.returncode == 0, result.stderr
    assert target(tmp_path).read_bytes() == BLOB
    assert len(hub.ranges) == 2 and resumed_from(hub) > 0


def test_a_wrong_checksum_is_refused(hub: Hub, tmp_path: Path) -> None:
    hub.etag = hashlib.sha256(b"something else").hexdigest()
    result = cli(hub, tmp_path, "download", ENTRY.name)
    assert result.returncode == 1
    assert "ChecksumError" in result.stderr and hub.etag in result.stderr
    assert not target(tmp_path).exists()


def test_unknown_names_are_usage_errors(hub: Hub, tmp_path: Path) -> None:
    result = cli(hub, tmp_path, "download", "gpt-5")
    assert result.returncode == 2 and "invalid choice" in result.stderr
    result = cli(hub, tmp_path, "verify", "gpt-5")
    assert result.returncode == 2 and "unknown model 'gpt-5'" in result.stderr


def test_other_commands_go_to_the_server_app() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-m", "neira_jupyter.cli", "--help-all"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "--NeiraApp.primary_path" in result.stdout


def test_a_pinned_checksum_wins_over_what_the_hub_announces(hub: Hub, tmp_path: Path) -> None:
    """The hub announces BLOB's SHA-256 for bge-m3 at its pinned commit, and BLOB is what
    it serves; the catalog pins another SHA-256, so the file is refused and deleted."""
    assert PINNED.sha256 is not None and PINNED.sha256 != SHA
    done = cli(hub, tmp_path, "download", PINNED.name)
    assert done.returncode == 1
    assert f"SHA-256 {SHA}, expected {PINNED.sha256}" in done.stderr
    assert not (tmp_path / "cache" / PINNED.name / PINNED.filename).exists()
    assert hub.ranges  # it was downloaded, then refused
