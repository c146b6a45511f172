"""A real Jupyter server with the neira extension, in the benchmark's own process.

Shared by the benchmarks that compare the server with direct model calls::

    from _server import TOKEN, free_port, post_generate, start_server, stop_server, wait_for_models

The server runs its own event loop in a background thread (as pytest-jupyter
runs one), with token authentication on (``TOKEN``) and the models of the
neira configuration given (the demo models when none is named).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    port: int, root: Path, neira: Mapping[str, Any] | None = None
) -> tuple[Any, threading.Thread]:
    """A Jupyter server with the neira extension, serving from a background thread.

    ``neira`` holds ``NeiraApp`` options (``{"speech_device": "cpu"}``, ...).
    """
    from jupyter_server.serverapp import ServerApp
    from traitlets.config import Config

    started = threading.Event()
    holder: dict[str, Any] = {}

    def serve() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        config = Config(
            {
                "ServerApp": {
                    "jpserver_extensions": {"neira_jupyter": True, "jupyterlab": False},
                    "port": port,
                    "port_retries": 0,
                    "ip": "127.0.0.1",
                    "open_browser": False,
                    "allow_root": True,
                    "terminals_enabled": False,
                    "root_dir": str(root),
                    "allow_unauthenticated_access": False,
                },
                "IdentityProvider": {"token": TOKEN},
                "NeiraApp": dict(neira or {}),
            }
        )
        try:
            app = ServerApp(config=config, log_level="WARN")
            app.init_signal = lambda: None  # type: ignore[method-assign]  # not the main thread
            app.initialize(argv=[])
            holder["app"] = app
            app.start_app()
        except BaseException as exc:
            holder["error"] = exc
            raise
        finally:
            started.set()
        app.start_ioloop()

    thread = threading.Thread(target=serve, name="jupyter-server", daemon=True)
    thread.start()
    if not started.wait(120) or "error" in holder:
        raise RuntimeError(f"the Jupyter server did not start: {holder.get('error')!r}")
    # The server binds its port in a callback of the event loop it is starting now.
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"the Jupyter server does not listen on port {port}") from None
            time.sleep(0.05)
    return holder["app"], thread


def stop_server(app: Any, thread: threading.Thread) -> None:
    app.io_loop.add_callback(app.stop)
    thread.join(timeout=30)


def wait_for_models(
    client: Any, roles: Iterable[str] = ("primary",), timeout: float = 300.0
) -> dict[str, Any]:
    """Poll ``client.status()`` until the models of ``roles`` are ready; return the status."""
    wanted = tuple(roles)
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = client.status()
        states = {m["role"]: m["state"] for m in status["models"]}
        if all(states.get(role) == "ready" for role in wanted):
            return status
        failed = any(states.get(role) == "failed" for role in wanted)
        if time.monotonic() > deadline or failed:
            raise RuntimeError(
                f"models {', '.join(wanted)} are not ready: {json.dumps(status['models'])}"
            )
        time.sleep(0.2)


def post_generate(
    port: int, body: Mapping[str, Any]
) -> tuple[float, list[float], str, dict[str, Any]]:
    """``POST api/generate`` streaming NDJSON; (start, token times, text, the done event)."""
    headers = {
        "Authorization": f"token {TOKEN}",
        "Content-Type": "application/json",
        "Accept": "application/x-ndjson",
    }
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    stamps: list[float] = []
    pieces: list[str] = []
    done: dict[str, Any] | None = None
    try:
        conn.request("POST", "/neira/api/generate", json.dumps({**body, "stream": True}), headers)
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"api/generate answered {response.status}: {response.read()!r}")
        while line := response.readline():
            event = json.loads(line)
            if event["type"] == "token":
                stamps.append(time.perf_counter())
                pieces.append(event["text"])
            elif event["type"] == "done":
                done = event
            elif event["type"] == "error":
                raise RuntimeError(f"api/generate failed: {event}")
    finally:
        conn.close()
    if done is None:
        raise RuntimeError("api/generate ended without a done event")
    return started, stamps, "".join(pieces), done
