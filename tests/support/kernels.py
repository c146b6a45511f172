"""Kernels that the server under test starts, driven over its kernel WebSocket as JupyterLab does.

``ServerKernel`` starts one for a notebook path (``POST api/sessions``) and
executes code; ``Execution`` is what one cell produced; ``neira_kernel``
gives one with the extension loaded. Used by the magics, examples, Hub and
client tests (the ``kernel_env`` fixture in conftest.py sets up their
environment).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import Fetch, wait_ready

# what a notebook shows a user when neira cannot help: a cell that prints one of
# these is a clear failure, not a crash
USER_FACING_ERRORS = (
    "No neira server",
    "no neira API",
    "refused the request",
    "degraded mode",
    "queue is full",
    "still loading",
    "UsageError",
    "no such audio file",
)


@dataclass
class Execution:
    """What one ``execute_request`` produced: its reply and its iopub messages, in order."""

    reply: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def of_type(self, *kinds: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["msg_type"] in kinds]

    @property
    def ok(self) -> bool:
        return bool(self.reply.get("status") == "ok")

    @property
    def stdout(self) -> str:
        return "".join(
            m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == "stdout"
        )

    @property
    def stderr(self) -> str:
        return "".join(
            m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == "stderr"
        )

    def displays(self) -> list[dict[str, Any]]:
        """display_data and update_display_data contents, in order."""
        return [m["content"] for m in self.of_type("display_data", "update_display_data")]

    def describe(self) -> str:
        errors = [
            f"{m['content']['ename']}: {m['content']['evalue']}" for m in self.of_type("error")
        ]
        return f"reply={self.reply.get('status')} errors={errors} stderr={self.stderr!r}"


class ServerKernel:
    """A kernel started by the jupyter server for a notebook, spoken to over its WebSocket."""

    def __init__(self, jp_fetch: Fetch, ws: Any, kernel_id: str) -> None:
        self.fetch = jp_fetch
        self.ws = ws
        self.kernel_id = kernel_id
        self.session = uuid.uuid4().hex

    @classmethod
    async def start(cls, jp_fetch: Fetch, jp_ws_fetch: Any, path: str) -> ServerKernel:
        body = {"path": path, "type": "notebook", "name": path, "kernel": {"name": "python3"}}
        response = await jp_fetch("api", "sessions", method="POST", body=json.dumps(body))
        kernel_id = json.loads(response.body)["kernel"]["id"]
        ws = await jp_ws_fetch("api", "kernels", kernel_id, "channels")
        kernel = cls(jp_fetch, ws, kernel_id)
        await kernel.wait_ready()
        return kernel

    async def wait_ready(self) -> None:
        while True:
            msg_id = self.send("kernel_info_request", {})
            try:
                async for message in self.replies(msg_id, timeout=5.0):
                    if message["msg_type"] == "kernel_info_reply":
                        return
            except TimeoutError:
                continue

    def send(self, msg_type: str, content: dict[str, Any]) -> str:
        msg_id = uuid.uuid4().hex
        message = {
            "header": {
                "msg_id": msg_id,
                "msg_type": msg_type,
                "session": self.session,
                "username": "test",
                "version": "5.3",
                "date": "",
            },
            "parent_header": {},
            "metadata": {},
            "content": content,
            "channel": "shell",
            "buffers": [],
        }
        self.ws.write_message(json.dumps(message))
        return msg_id

    async def replies(self, msg_id: str, timeout: float = 240.0) -> AsyncIterator[dict[str, Any]]:
        """Messages that answer ``msg_id`` (any channel), until the kernel goes idle after
        sending the shell reply."""
        replied = idle = False
        while not (replied and idle):
            raw = await asyncio.wait_for(self.ws.read_message(), timeout)
            if raw is None:
                raise ConnectionError("the kernel WebSocket closed")
            message = json.loads(raw)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            message["msg_type"] = message["header"]["msg_type"]
            if message["channel"] == "shell":
                replied = True
            elif message["msg_type"] == "status":
                idle = message["content"]["execution_state"] == "idle"
            yield message

    async def execute(self, code: str, on_message: Any = None) -> Execution:
        msg_id = self.send(
            "execute_request",
            {"code": code, "silent": False, "store_history": True, "allow_stdin": False},
        )
        result = Execution()
        async for message in self.replies(msg_id):
            if message["channel"] == "shell":
                result.reply = message["content"]
            else:
                result.messages.append(message)
                if on_message is not None:
                    await on_message(message)
        return result

    async def interrupt(self) -> None:
        await self.fetch("api", "kernels", self.kernel_id, "interrupt", method="POST", body="")

    async def shutdown(self) -> None:
        self.ws.close()
        await self.fetch("api", "kernels", self.kernel_id, method="DELETE")


@contextlib.asynccontextmanager
async def neira_kernel(
    jp_fetch: Fetch, jp_ws_fetch: Any, load: bool = True
) -> AsyncIterator[ServerKernel]:
    """A server-launched kernel for ``work/e2e.ipynb``, with the extension loaded if ``load``."""
    await wait_ready(jp_fetch)
    kernel = await ServerKernel.start(jp_fetch, jp_ws_fetch, "work/e2e.ipynb")
    try:
        if load:
            loaded = await kernel.execute("%load_ext neira_jupyter")
            assert loaded.ok, loaded.describe()
        yield kernel
    finally:
        await kernel.shutdown()
