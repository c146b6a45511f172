"""Small helpers the tests share: text for word error rates, JSON and audio posts, a clock
set by hand, a remote server's spec."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neira_jupyter.engine.endpoint import RemoteSpec
from neira_jupyter.options import NeiraApp
from tests.conftest import Fetch, get_status


def words(text: str) -> str:
    """Lower-case words without punctuation, one space apart (for word error rates)."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


async def post_json(jp_fetch: Fetch, path: str, body: Any, **kwargs: Any) -> Any:
    """``POST neira/api/{path}`` with ``body`` as JSON; ``kwargs`` go to ``jp_fetch``."""
    return await jp_fetch("neira", "api", path, method="POST", body=json.dumps(body), **kwargs)


async def post_audio(
    jp_fetch: Fetch, wav: Path, params: dict[str, str], headers: dict[str, str] | None = None
) -> Any:
    """``POST neira/api/transcribe`` with ``wav`` as the body and ``params`` as the query."""
    return await jp_fetch(
        "neira", "api", "transcribe", method="POST", body=wav.read_bytes(),
        headers={"Content-Type": "audio/wav", **(headers or {})}, params=params,
        request_timeout=300,  # transcription and correction take long on a loaded 2-core machine
    )  # fmt: skip


def remote_spec(base_url: str, model: str, prefix: str = "remote", **fields: Any) -> RemoteSpec:
    """A ``RemoteSpec`` whose timeout and concurrency are ``{prefix}_timeout``'s and
    ``{prefix}_concurrency``'s defaults, unless ``fields`` set them."""
    defaults = NeiraApp.option_defaults()
    fields.setdefault("timeout_s", defaults[f"{prefix}_timeout"])
    fields.setdefault("concurrency", defaults[f"{prefix}_concurrency"])
    return RemoteSpec(base_url, model, **fields)


class ManualClock:
    """A clock for code that takes one (``clock=``): it reads ``now``, which a test moves."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def wait_for(
    jp_fetch: Fetch, check: Callable[[dict[str, Any]], bool], timeout: float = 120.0
) -> dict[str, Any]:
    """Poll ``api/status`` until ``check`` holds; return that status."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    status = await get_status(jp_fetch)
    while not check(status):
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s; last status: {status}")
        await asyncio.sleep(0.05)
        status = await get_status(jp_fetch)
    return status
