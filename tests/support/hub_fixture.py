"""A real JupyterHub on loopback for the tests in tests/hub/: proxy, Hub, the neira service, users.

``LiveHub.start`` writes a ``jupyterhub_config.py`` (dummy authenticator, the
simple local-process spawner, the managed ``neira`` service running
``python -m neira_jupyter.hub`` with the demo models, roles giving alice, bob
and dave ``access:services!service=neira``; carol has none), starts
``jupyterhub`` with configurable-http-proxy from ``.cache/chp`` (installed by
scripts/setup.sh) or PATH, and makes a token per user through a ``tester``
service. ``stop`` ends the Hub, which stops the proxy, the service and the
single-user servers; any survivor of the process group is killed. ``generate``
streams one generation from the service (or a user's relay) and ``tokens_of``
picks the tokens out of its events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
TESTER_TOKEN = "neira-test-" + os.urandom(8).hex()
USERS = ("alice", "bob", "carol", "dave")
ADMIN_SCOPE = "custom:neira:admin"
# a prompt the demo model answers at length: a job that still runs while the test acts
COUNTING = "Count from 1 to 100, separated by commas: 1, 2, 3,"
SERVICE_OPTIONS = [
    "--NeiraServiceApp.max_jobs_per_user=2",
    "--NeiraServiceApp.queue_size=16",
    "--NeiraServiceApp.max_tokens_limit=256",
    '--NeiraServiceApp.group_limits={"trial": {"tokens_per_day": 4}}',
]

CONFIG = """
import sys
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.JupyterHub.db_url = "sqlite:///{root}/hub.sqlite"
c.JupyterHub.cookie_secret_file = "{root}/cookie_secret"
c.JupyterHub.pid_file = "{root}/hub.pid"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = set({users!r})
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{root}/home/{{username}}"
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
# short chat answers: the service allows 256 tokens a request (SERVICE_OPTIONS)
c.Spawner.args = ["--allow-root", "--NeiraPersona.answer_tokens=48"]
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.Spawner.environment = {{
    "NEIRA_SERVICE_URL": "http://127.0.0.1:{port}/services/neira/",
    "JUPYTER_RUNTIME_DIR": "{root}/runtime",
    "NEIRA_CACHE_DIR": {cache!r},
    "PYTHONPATH": {pythonpath!r},
}}
c.Spawner.server_token_scopes = [
    "access:servers!server", "users:activity!user", "access:services!service=neira",
]
c.JupyterHub.custom_scopes = {{"{admin}": {{"description": "See every neira user's usage"}}}}
c.JupyterHub.services = [
    {{
        "name": "neira",
        "url": "http://127.0.0.1:{service_port}",
        "command": [sys.executable, "-m", "neira_jupyter.hub", *{options!r}],
        "environment": {{"NEIRA_CACHE_DIR": {cache!r}, "PYTHONPATH": {pythonpath!r},
                         "HOME": {home!r}}},
        "oauth_no_confirm": True,
    }},
    {{"name": "tester", "api_token": "{tester}"}},
]
c.JupyterHub.load_groups = {{"trial": {{"users": ["dave"]}}}}
c.JupyterHub.load_roles = [
    {{"name": "neira-users", "users": ["alice", "bob", "dave"],
      "scopes": ["access:services!service=neira"]}},
    {{"name": "tester", "services": ["tester"],
      "scopes": ["admin:users", "admin:servers", "tokens", "access:services!service=neira",
                 "access:servers", "{admin}"]}},
]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proxy_command() -> str:
    local = REPO / ".cache" / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
    found = str(local) if local.exists() else shutil.which("configurable-http-proxy")
    if not found:
        raise RuntimeError("configurable-http-proxy is missing: run scripts/setup.sh")
    return found


@dataclass
class LiveHub:
    """A running Hub: its URL, the tester token and one token per user."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def service(self) -> str:
        return f"{self.url}/services/neira/neira/api/"

    def user_api(self, user: str) -> str:
        return f"{self.url}/user/{user}/neira/api/"

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"token {self.tokens[user]}"}

    def hub_api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"token {TESTER_TOKEN}"}
        return httpx.request(method, f"{self.url}/hub/api/{path}", headers=headers,
                             timeout=60, **kwargs)  # fmt: skip

    @classmethod
    def start(cls, root: Path) -> LiveHub:
        port = free_port()
        hub = cls(root, port)
        cache = os.environ.get("NEIRA_CACHE_DIR", str(Path.home() / ".cache" / "neira-jupyter"))
        pythonpath = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
        (root / "runtime").mkdir(parents=True, exist_ok=True)
        text = CONFIG.format(
            port=port, hub_port=free_port(), proxy_api_port=free_port(),
            service_port=free_port(), chp=proxy_command(), root=root, users=USERS,
            cache=cache, pythonpath=pythonpath, home=str(Path.home()), admin=ADMIN_SCOPE,
            options=SERVICE_OPTIONS, tester=TESTER_TOKEN,
        )  # fmt: skip
        (root / "jupyterhub_config.py").write_text(text)
        log = (root / "hub.log").open("wb")
        hub.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(root / "jupyterhub_config.py")],
            cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            hub.wait_up()
            for user in USERS:
                hub.hub_api("POST", f"users/{user}")  # 201, or 409 when it exists
                made = hub.hub_api("POST", f"users/{user}/tokens", json={"note": "test"})
                made.raise_for_status()
                hub.tokens[user] = made.json()["token"]
        except BaseException:
            hub.stop()
            raise
        return hub

    def wait_up(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.log_tail()
            try:
                if self.hub_api("GET", "").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"the Hub did not start: {self.log_tail()}")

    def wait_service_ready(self, user: str, timeout: float = 300.0) -> dict[str, Any]:
        """The service's status once its LLM answers (models loaded)."""
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                response = httpx.get(self.service + "status", headers=self.auth(user), timeout=30)
                if response.status_code == 200:
                    status = response.json()
                    states = {m["role"]: m.get("state") for m in status["models"]}
                    if states.get("primary") == "ready" and states.get("speech") == "ready":
                        return status
            except httpx.HTTPError:
                pass
            time.sleep(1.0)
        raise TimeoutError(f"the neira service is not ready: {status} {self.log_tail()}")

    def start_server(self, user: str, timeout: float = 240.0) -> None:
        response = self.hub_api("POST", f"users/{user}/server")
        assert response.status_code in {201, 202, 400}, response.text  # 400: already running
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.hub_api("GET", f"users/{user}").json()
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                return
            time.sleep(1.0)
        raise TimeoutError(f"{user}'s server did not start: {self.log_tail()}")

    def server_pid(self, user: str) -> int:
        """The pid of ``user``'s single-user server (from its jpserver-<pid>.json)."""
        found = [json.loads(f.read_text()) for f in (self.root / "runtime").glob("jpserver-*.json")]
        mine = [info for info in found if info.get("base_url") == f"/user/{user}/"]
        assert len(mine) == 1, found
        return int(mine[0]["pid"])

    def log_tail(self, chars: int = 4000) -> str:
        path = self.root / "hub.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the Hub stops its service, servers, proxy
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything of the session still alive


async def generate(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    admitted: asyncio.Event | None = None,
    **body: Any,
) -> tuple[int, dict[str, str], list[dict[str, Any]]]:
    """POST generate, streamed: status, headers, and the NDJSON events as they arrived.

    ``admitted`` is set once the service has answered 200 (the job holds its place).
    """
    body = {"prompt": "Say hello.", "max_tokens": 8, "temperature": 0, **body}
    events: list[dict[str, Any]] = []
    async with client.stream("POST", url + "generate", headers=headers, json=body) as response:
        if response.status_code != 200:
            await response.aread()
            return response.status_code, dict(response.headers), [response.json()]
        if admitted is not None:
            admitted.set()
        async for line in response.aiter_lines():
            if line.strip():
                events.append(json.loads(line))
    return 200, dict(response.headers), events


def tokens_of(events: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for e in events if e["type"] == "token"]
