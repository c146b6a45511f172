"""``v1/responses``: OpenAI's Responses API (create, and the stored ones: get, delete).

HTTP only: ``serving.openai_responses`` serves the request on the engine
(the chat completions' queue, router, quotas and cancellation), and the
server's ``ResponseStore`` (``responses_per_user``, ``responses_ttl``)
keeps each user's responses apart: a response id finds only the caller's
own. Streams are SSE events, each with an ``event:`` line naming its
``type``; the client leaving cancels the job.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..engine.types import EngineError
from ..protocol.openai_response_objects import ResponseDeleted
from ..protocol.openai_responses import ResponseRequest
from ..serving.errors import OpenAIRequestError
from ..serving.openai_responses import OpenResponse, open_response
from ..serving.response_store import ResponseStore
from .event_stream import write_events
from .openai import SSE_UTF8, OpenAIHandler

RESPONSES_KEY = "neira_responses"
"""The tornado setting that holds the server's ``ResponseStore``."""


class _ResponsesBase(OpenAIHandler):
    @property
    def responses(self) -> ResponseStore:
        store: ResponseStore = self.settings[RESPONSES_KEY]
        return store


@web.stream_request_body
class ResponsesHandler(_ResponsesBase):
    """``POST v1/responses``: one response document, or SSE events."""

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        try:
            request = await self.parse_json_body(ResponseRequest)
            opened = await open_response(
                self.engine, self.username, request, self.limits, self.responses
            )
        except EngineError as exc:
            self.send_engine_error(exc)
        self.cancel_on_close(opened.generation.request_id)
        try:
            if request.stream:
                await write_events(self, opened.events(), SSE_UTF8, named=True)
            else:
                await self._reply_whole(opened)
        finally:
            await opened.aclose()  # cancels the job if the client went away

    async def _reply_whole(self, opened: OpenResponse) -> None:
        try:
            document = await opened.whole()
        except EngineError as exc:
            self.send_engine_error(exc)
        await self.reply_built(lambda: document)


class ResponseHandler(_ResponsesBase):
    """``GET`` and ``DELETE v1/responses/{id}``: the caller's own stored response."""

    def _missing(self, response_id: str) -> OpenAIRequestError:
        message = f"No response {response_id!r} of yours is stored"
        return OpenAIRequestError(404, message, "response_id", "not_found")

    @web.authenticated
    @authorized("execute")
    async def get(self, response_id: str) -> None:
        stored = self.responses.get(self.username, response_id)
        if stored is None:
            self.send_engine_error(self._missing(response_id))
        self.reply(stored.document)

    @web.authenticated
    @authorized("execute")
    async def delete(self, response_id: str) -> None:
        if not self.responses.delete(self.username, response_id):
            self.send_engine_error(self._missing(response_id))
        self.reply(ResponseDeleted(id=response_id))
