"""Shared fixtures: a real jupyter server with the extension and the real demo models.

``neira_config`` holds ``NeiraApp`` options; a test module overrides that
fixture to start the server differently (LLM disabled, a tiny queue, ...).
Authentication stays on (``allow_unauthenticated_access=False``): ``jp_fetch``
sends the server's token, and tests of the 403 path send none.

The ``model`` marker: a test that loads a real model (Whisper or a GGUF),
directly or through a server, kernel or Hub. Every test on the
extension's server (``jp_serverapp``) gets it here; the modules that load
models themselves mark their tests. ``pytest -m "not model"`` runs the rest,
the fast part (340 tests in about 70 s on 2 cores).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from openai import OpenAI

from neira_jupyter.engine.speech import SpeechSpec, WhisperTranscriber

# pytest-jupyter points HOME at a temporary folder; keep the assembled demo GGUF
# in the real cache so it is joined once, not once per test.
os.environ.setdefault("NEIRA_CACHE_DIR", str(Path.home() / ".cache" / "neira-jupyter"))
os.environ.pop("LLM_ENABLED", None)
os.environ.pop("LLM_MODEL_PATH", None)

pytest_plugins = ["pytest_jupyter.jupyter_server"]

REPO = Path(__file__).resolve().parents[1]

Fetch = Callable[..., Awaitable[Any]]


F = TypeVar("F", bound=Callable[..., Any])


def loads_model(fixture_function: F) -> F:
    """Say that a fixture loads a real model: the tests using it are marked ``model``.

    Goes under ``@pytest.fixture``, on the function itself.
    """
    fixture_function.loads_model = True  # type: ignore[attr-defined]
    return fixture_function


def _needs_a_model(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    for name in getattr(item, "fixturenames", ()):
        if name == "jp_serverapp":  # the extension's server loads the models
            return True
        definitions = info.name2fixturedefs.get(name, ()) if info is not None else ()
        if definitions and getattr(definitions[-1].func, "loads_model", False):
            return True
    return False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``model`` every test that uses a server with the extension or a ``loads_model``
    fixture, even through other fixtures."""
    for item in items:
        if _needs_a_model(item):
            item.add_marker(pytest.mark.model)


@pytest.fixture
def neira_config() -> dict[str, Any]:
    """``NeiraApp`` options for the server under test."""
    return {}


@pytest.fixture
def jp_server_config(neira_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"neira_jupyter": True},
            "allow_unauthenticated_access": False,
            "terminals_enabled": False,
        },
        "NeiraApp": neira_config,
    }


@pytest.fixture
def v1_url(jp_http_port: int, jp_base_url: str) -> str:
    """The OpenAI-compatible API of the server under test, as clients are configured."""
    return f"http://localhost:{jp_http_port}{jp_base_url}neira/v1"


@pytest.fixture
def token(jp_serverapp: Any) -> str:
    """The server's token: the API key of OpenAI clients."""
    return str(jp_serverapp.identity_provider.token)


@pytest.fixture
def client(v1_url: str, token: str) -> Iterator[OpenAI]:
    """The official ``openai`` client on ``v1_url`` (no retries: a 429 is seen as one)."""
    with OpenAI(base_url=v1_url, api_key=token, max_retries=0, timeout=300) as sync_client:
        yield sync_client


@pytest.fixture
def kernel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernels import this checkout, and find the server only through JPY_PARENT_PID."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    for name in ("NEIRA_URL", "NEIRA_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
@loads_model
def whisper() -> Iterator[WhisperTranscriber]:
    """The demo Whisper tiny.en, loaded once for the session (2 CPU threads)."""
    from tests.support.models import tiny_en_path

    model = WhisperTranscriber(SpeechSpec("whisper-tiny.en", tiny_en_path(), cpu_threads=2))
    model.load()
    yield model
    model.close()


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for generated speech clips, shared by the session."""
    return tmp_path_factory.mktemp("audio")


async def get_status(jp_fetch: Fetch) -> dict[str, Any]:
    response = await jp_fetch("neira", "api", "status", method="GET")
    status: dict[str, Any] = json.loads(response.body)
    return status


async def wait_ready(jp_fetch: Fetch, timeout: float = 120.0) -> dict[str, Any]:
    """Poll ``api/status`` until no model is loading; return the last status."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        status = await get_status(jp_fetch)
        states = [m["state"] for m in status["models"] if m["role"] != "fallback"]
        loading = any(m["state"] == "loading" for m in status["models"])
        if not loading and "unloaded" not in states:
            return status
        if loop.time() > deadline:
            raise TimeoutError(f"models still loading after {timeout} s: {status['models']}")
        await asyncio.sleep(0.1)
