"""OpenAI-compatible routes under ``{base_url}neira/v1/``: models, chat and text completions.

HTTP only: the requests are served by ``serving.openai_completion`` and
``serving.models`` on the same engine as ``api/generate``. Authentication
is jupyter-server's (``Authorization: Bearer <token>``, as the ``openai``
package sends its ``api_key``); an unauthenticated request gets 401, every
error OpenAI's ``{"error": {message, type, param, code}}`` (``OpenAIHTTPError``
carries that document). Streams are SSE ``data:`` chunks ending in
``data: [DONE]``; the client leaving cancels the job.
``audio/transcriptions`` is in ``openai_audio``; any other path under
``v1/`` is ``UnknownRouteHandler``'s JSON 404.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..engine.types import EngineError
from ..protocol.openai import ChatCompletionRequest, CompletionRequest, OpenAIError, openai_error
from ..protocol.openai_answers import ModelList
from ..serving.errors import openai_error_body, retry_after
from ..serving.models import model_card, model_cards
from ..serving.openai_completion import STREAM_END, OpenAICompletion, open_completion
from .base import APIError, BoundedBodyMixin, set_retry_after
from .event_stream import SSE, write_events

SSE_UTF8 = f"{SSE}; charset=utf-8"


class OpenAIHTTPError(APIError):
    """An engine error answered as OpenAI's error document (``body``)."""

    def __init__(self, exc: EngineError) -> None:
        super().__init__(exc.status, str(exc), type(exc).__name__, retry_after(exc))
        # the message as tornado's APIHandler writes it (``log_message``, "%" doubled), so
        # both APIs answer an error with the same text
        self.body: OpenAIError = openai_error_body(exc, self.log_message)


class OpenAIHandler(BoundedBodyMixin):
    """Base of the ``v1/`` routes: OpenAI's error shape, 401 for a missing token."""

    def send_engine_error(self, exc: EngineError) -> NoReturn:
        raise OpenAIHTTPError(exc) from exc

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs["exc_info"][1] if kwargs.get("exc_info") else None
        set_retry_after(self, kwargs.get("exc_info"))
        if status_code == 403 and getattr(self, "_jupyter_current_user", None) is None:
            self.set_status(401)  # no valid token: OpenAI clients expect 401 (AuthenticationError)
            self.set_header("WWW-Authenticate", 'Bearer realm="jupyter-server token"')
            body = openai_error(
                401, "no valid token; send the Jupyter server's token as the API key"
            )
        elif isinstance(exc, OpenAIHTTPError):
            body = exc.body
        elif isinstance(exc, web.HTTPError):
            body = openai_error(status_code, exc.log_message or self._reason)
        else:
            self.log.error("neira: %s failed", self.request.path, exc_info=kwargs.get("exc_info"))
            body = openai_error(status_code, "internal server error")
        self.set_header("Content-Type", "application/json")
        self.finish(body.to_json())


class UnknownRouteHandler(OpenAIHandler):
    """Any other path under ``v1/``: OpenAI's JSON 404 (registered last). Authenticated
    like every route, so a request without a token gets 401 and learns nothing."""

    def _unknown(self, path: str) -> NoReturn:
        raise web.HTTPError(404, f"{self.request.method} v1/{path}: there is no such route")

    @web.authenticated
    @authorized("execute")
    async def get(self, path: str) -> None:
        self._unknown(path)

    post = put = patch = delete = get


class ModelsHandler(OpenAIHandler):
    """``GET v1/models`` and ``GET v1/models/{id}``."""

    @web.authenticated
    @authorized("execute")
    async def get(self, name: str | None = None) -> None:
        if name is None:
            self.reply(ModelList(data=model_cards(self.engine)))
            return
        try:
            card = model_card(self.engine, name)
        except EngineError as exc:
            self.send_engine_error(exc)
        self.reply(card)


@web.stream_request_body
class ChatCompletionsHandler(OpenAIHandler):
    """``POST v1/chat/completions``: one JSON document, or SSE chunks then ``[DONE]``."""

    request_model: ClassVar[type[ChatCompletionRequest | CompletionRequest]] = ChatCompletionRequest

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        try:
            request = await self.parse_json_body(self.request_model)
            completion = await open_completion(self.engine, self.username, request, self.limits)
        except EngineError as exc:
            self.send_engine_error(exc)
        self.cancel_on_close(completion.generation.request_id)
        try:
            if request.stream:
                await write_events(self, completion.chunks(), SSE_UTF8, end=STREAM_END)
            else:
                await self._reply_whole(completion)
        finally:
            await completion.aclose()  # cancels the job if the client went away

    async def _reply_whole(self, completion: OpenAICompletion) -> None:
        try:
            result = await completion.whole()
        except EngineError as exc:
            self.send_engine_error(exc)
        await self.reply_built(lambda: completion.answer.whole(result))


@web.stream_request_body
class CompletionsHandler(ChatCompletionsHandler):
    """``POST v1/completions``: a prompt, answered like a chat (one user message)."""

    request_model = CompletionRequest
