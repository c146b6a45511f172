"""``POST api/complete``: a code completion at the cursor, streamed like ``api/generate``.

HTTP only: the body is validated as ``protocol.CompleteRequest`` and served
by ``serving.complete`` (the infill, the start, the superseding of the
user's previous completion for the same editor); events go out as NDJSON or
SSE. Closing the connection cancels the completion.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..engine.types import EngineError
from ..protocol.complete import CompleteRequest
from ..serving.complete import Superseding, open_code_completion
from .base import BoundedBodyMixin
from .generate import reply_generation

SUPERSEDING_KEY = "neira_superseding"
"""The tornado setting holding the server's ``Superseding``."""


@web.stream_request_body
class CompleteHandler(BoundedBodyMixin):
    """``POST api/complete``: NDJSON/SSE token stream, or one JSON document."""

    @property
    def superseding(self) -> Superseding:
        superseding: Superseding = self.settings[SUPERSEDING_KEY]
        return superseding

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        user = self.username
        try:
            request = await self.parse_json_body(CompleteRequest)
            generation = await open_code_completion(
                self.engine, user, request, self.limits, self.superseding
            )
        except EngineError as exc:
            self.send_engine_error(exc)
        try:
            await reply_generation(self, generation, request.stream)
        finally:
            if request.stream_key is not None:
                self.superseding.end(user, request.stream_key, generation.request_id)
