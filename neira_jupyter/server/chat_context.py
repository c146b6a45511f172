"""``POST/DELETE neira/chat/context``: the browser tells the chat what notebook it is in.

Served by the user's own Jupyter server in both modes (with an engine, and
as a Hub relay: the route is outside ``neira/api/``, so it is never
forwarded). Authenticated and authorized like every neira route; the body is
size-limited and validated as ``NotebookSnapshot``; each user has one
snapshot (``SnapshotStore``), which only the Neira persona reads.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..context.snapshot import NotebookSnapshot
from ..engine.types import EngineError
from ..serving.chat_context import SnapshotStore
from .base import BoundedBodyMixin

SNAPSHOTS_KEY = "neira_chat_snapshots"
CHAT_CONTEXT_PATH = "neira/chat/context"


@web.stream_request_body
class ChatContextHandler(BoundedBodyMixin):
    """Store (POST) or forget (DELETE) the caller's notebook snapshot."""

    @property
    def store(self) -> SnapshotStore:
        store: SnapshotStore = self.settings[SNAPSHOTS_KEY]
        return store

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        try:
            snapshot = await self.parse_json_body(NotebookSnapshot)
        except EngineError as exc:
            self.send_engine_error(exc)
        self.store.put(self.username, snapshot)
        self.set_status(204)
        self.finish()

    @web.authenticated
    @authorized("execute")
    async def delete(self) -> None:
        self.store.clear(self.username)
        self.set_status(204)
        self.finish()


def chat_handlers() -> list[tuple[str, type]]:
    return [(f"/{CHAT_CONTEXT_PATH}", ChatContextHandler)]


__all__ = ["CHAT_CONTEXT_PATH", "SNAPSHOTS_KEY", "ChatContextHandler", "chat_handlers"]
