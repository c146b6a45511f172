"""``v1/embeddings``: OpenAI's embeddings route.

HTTP only: ``serving.openai_embeddings`` checks the request and embeds it
on the engine's embedding lane (its queue, admission and usage observers);
the answer, which grows with the inputs, is encoded off the event loop.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..engine.types import EngineError
from ..protocol.openai_embeddings import EmbeddingRequest
from ..serving.openai_embeddings import create_embeddings
from .openai import OpenAIHandler


@web.stream_request_body
class EmbeddingsHandler(OpenAIHandler):
    """``POST v1/embeddings``: one list of vectors."""

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        try:
            request = await self.parse_json_body(EmbeddingRequest)
            answer = await create_embeddings(self.engine, self.username, request)
        except EngineError as exc:
            self.send_engine_error(exc)
        await self.reply_built(lambda: answer)
