"""OpenAI-compatible routes under ``{base_url}neira/v1/``: models, chat and text completions.

They sit on the same engine as ``api/generate``: a completion request is
turned into a ``GenerateRequest`` and started with ``open_generation``, so
the scheduler, router, fairness, limits and cancellation are those of the
neira API. Authentication is jupyter-server's (``Authorization: Bearer
<token>``, as the ``openai`` package sends its ``api_key``); an
unauthenticated request gets 401, every error OpenAI's
``{"error": {message, type, param, code}}``. A request may name only a model
that ``GET v1/models`` lists (never a path); another name is a 404.
``whisper-1`` names the configured speech model. Streams are SSE
``data:`` chunks ending in ``data: [DONE]``; the client leaving cancels the
job. ``audio/transcriptions`` is in ``openai_audio``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Literal, NoReturn

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.iostream import StreamClosedError

from ..engine.llm import TokenChunk
from ..engine.service import GenerationStart, NeiraEngine
from ..engine.types import EngineError, GenerationResult
from ..engine.types import TokenLogprob as ScoredToken
from ..protocol import Usage, WireModel
from ..protocol.openai import ChatCompletionRequest, CompletionRequest, openai_error
from ..protocol.openai_answers import (
    AssistantMessage,
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatDelta,
    ChatLogprobs,
    Completion,
    ModelCard,
    ModelList,
    NeiraInfo,
    TextChoice,
    TextLogprobs,
    TokenLogprob,
    ToolCallDelta,
    TopLogprob,
)
from ..protocol.openai_audio import SPEECH_ALIAS
from .base import NeiraAPIHandler, http_error
from .generate import Events, GenerateHandler, check_format, first_event, open_generation
from .wire import tool_calls

ModelKind = Literal["llm", "speech"]
_LOADED_AT = int(time.time())
"""``created`` of every listed model: when this module was imported (the server's start)."""


class OpenAIRequestError(EngineError):
    """An error with OpenAI's ``param`` and ``code`` (an unknown model, a wrong kind)."""

    def __init__(self, status: int, message: str, param: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.param = param
        self.code = code


def model_cards(engine: NeiraEngine) -> list[ModelCard]:
    """The models a request may name: the configured LLMs, then the speech model (the local
    one, else the remote transcription server's) and its alias ``whisper-1`` (the name most
    OpenAI clients send)."""
    llms = [m for m in (engine.primary, engine.fallback, engine.remote) if m is not None]
    cards = [ModelCard(id=m.name, created=_LOADED_AT, neira_kind="llm") for m in llms]
    speech = engine.speech or engine.speech_remote  # a remote one when no Whisper is local
    if speech is not None:
        names = dict.fromkeys((speech.name, SPEECH_ALIAS))
        cards += [ModelCard(id=name, created=_LOADED_AT, neira_kind="speech") for name in names]
    return cards


def model_not_found(name: str, known: Iterable[str]) -> OpenAIRequestError:
    """404 ``model_not_found``, naming the models there are."""
    listed = ", ".join(known)
    message = f"The model {name!r} does not exist; GET v1/models lists: {listed}"
    return OpenAIRequestError(404, message, "model", "model_not_found")


class OpenAIHandler(NeiraAPIHandler):
    """Base of the ``v1/`` routes: OpenAI's error shape, 401 for a missing token."""

    def check_model(self, name: str, kind: ModelKind) -> None:
        """``name`` must be a listed model of ``kind``: 404 if unknown, 400 if the wrong kind."""
        kinds = {card.id: card.neira_kind for card in model_cards(self.engine)}
        if name not in kinds:
            raise model_not_found(name, kinds)
        if kinds[name] != kind:
            use = "audio/transcriptions" if kinds[name] == "speech" else "a completions route"
            message = f"The model {name!r} is a {kinds[name]} model; use {use}"
            raise OpenAIRequestError(400, message, "model", "wrong_kind")

    def send_engine_error(self, exc: EngineError) -> NoReturn:
        error = http_error(exc)  # with Retry-After for a full queue
        error.param = getattr(exc, "param", None)  # type: ignore[attr-defined]
        error.code = getattr(exc, "code", None)  # type: ignore[attr-defined]
        raise error from exc

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs["exc_info"][1] if kwargs.get("exc_info") else None
        if status_code == 403 and getattr(self, "_jupyter_current_user", None) is None:
            status_code = 401  # no valid token: OpenAI clients expect 401 (AuthenticationError)
            self.set_status(401)
            self.set_header("WWW-Authenticate", 'Bearer realm="jupyter-server token"')
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:  # send_error() cleared the headers: set it here
            self.set_header("Retry-After", str(retry_after))
        if isinstance(exc, web.HTTPError):
            message = exc.log_message or self._reason
        else:
            message = "internal server error"
            self.log.error("neira: %s failed", self.request.path, exc_info=kwargs.get("exc_info"))
        if status_code == 401:
            message = "no valid token; send the Jupyter server's token as the API key"
        body = openai_error(
            status_code, message, getattr(exc, "param", None), getattr(exc, "code", None)
        )
        self.set_header("Content-Type", "application/json")
        self.finish(body.to_json())


class ModelsHandler(OpenAIHandler):
    """``GET v1/models`` and ``GET v1/models/{id}``."""

    @web.authenticated
    @authorized("execute")
    async def get(self, name: str | None = None) -> None:
        cards = model_cards(self.engine)
        if name is None:
            self.reply(ModelList(data=cards))
            return
        card = next((c for c in cards if c.id == name), None)
        if card is None:
            self.send_engine_error(model_not_found(name, [c.id for c in cards]))
        else:
            self.reply(card)


def chat_logprobs(scored: Sequence[ScoredToken] | None) -> ChatLogprobs | None:
    """A chat choice's ``logprobs`` from the engine's, or None when none were asked for."""
    if scored is None:
        return None

    def top(token: str, logprob: float, data: tuple[int, ...]) -> TopLogprob:
        return TopLogprob(token=token, logprob=logprob, bytes=list(data))

    content = [
        TokenLogprob(
            token=s.token,
            logprob=s.logprob,
            bytes=list(s.bytes),
            top_logprobs=[top(*alternative) for alternative in s.top],
        )
        for s in scored
    ]
    return ChatLogprobs(content=content)


def text_logprobs(scored: Sequence[ScoredToken] | None, offset: int = 0) -> TextLogprobs | None:
    """A text choice's ``logprobs`` (the legacy shape); ``offset``: where its text begins."""
    if scored is None:
        return None
    offsets = []
    for s in scored:
        offsets.append(offset)
        offset += len(s.token)
    return TextLogprobs(
        tokens=[s.token for s in scored],
        token_logprobs=[s.logprob for s in scored],
        top_logprobs=[{token: logprob for token, logprob, _ in s.top} for s in scored],
        text_offset=offsets,
    )


class _Answer:
    """Builds one completion's OpenAI documents (chat or text) from engine events."""

    def __init__(
        self, start: GenerationStart, chat: bool, logprobs: bool = False, echo: str = ""
    ) -> None:
        self.id = ("chatcmpl-" if chat else "cmpl-") + start.request_id
        self.created = int(time.time())
        self.start = start
        self.chat = chat
        self.logprobs = logprobs
        self.echo = echo  # a text completion's prompt, when it is echoed
        self._offsets: dict[int, int] = {}  # choice -> where its next piece begins

    def info(self, result: GenerationResult) -> NeiraInfo:
        return NeiraInfo(
            request_id=self.start.request_id, route=result.route, route_reason=result.route_reason
        )

    def whole(self, result: GenerationResult) -> WireModel:
        usage = _usage(result)
        each = [result, *result.others]  # one per choice
        if self.chat:
            choices = [
                ChatChoice(
                    index=index,
                    message=AssistantMessage(
                        content=one.text or (None if one.tool_calls else ""),
                        tool_calls=tool_calls(one) or None,
                    ),
                    finish_reason=_finish(one),
                    logprobs=chat_logprobs(self._scored(one)),
                )
                for index, one in enumerate(each)
            ]
            return ChatCompletion(
                id=self.id,
                created=self.created,
                model=result.model,
                choices=choices,
                usage=usage,
                neira=self.info(result),
            )
        texts = [
            TextChoice(
                index=index,
                text=self.echo + one.text,
                finish_reason=_finish(one),
                logprobs=text_logprobs(self._scored(one)),
            )
            for index, one in enumerate(each)
        ]
        return self._text(texts, usage=usage, neira=self.info(result))

    def _scored(self, result: GenerationResult) -> list[ScoredToken] | None:
        return (result.logprobs or []) if self.logprobs else None

    def calls(self, result: GenerationResult) -> WireModel | None:
        """The chunk of the calls the answer makes (each choice's, each call whole), or None."""
        choices = [
            ChatChunkChoice(
                index=index,
                delta=ChatDelta(
                    tool_calls=[
                        ToolCallDelta(index=at, id=call.id, function=call.function)
                        for at, call in enumerate(tool_calls(one))
                    ]
                ),
            )
            for index, one in enumerate([result, *result.others])
            if one.tool_calls
        ]
        return self._chunk(choices) if choices and self.chat else None

    def finishes(self, result: GenerationResult) -> WireModel:
        """The stream's closing chunk: each choice's finish reason."""
        each = [result, *result.others]
        if not self.chat:
            ends = [
                TextChoice(index=i, text="", finish_reason=_finish(r)) for i, r in enumerate(each)
            ]
            return self._text(ends)
        return self._chunk(
            [
                ChatChunkChoice(index=i, delta=ChatDelta(), finish_reason=_finish(r))
                for i, r in enumerate(each)
            ]
        )

    def chunk(
        self,
        text: str | None,
        first: bool = False,
        scored: Sequence[ScoredToken] = (),
        index: int = 0,
    ) -> WireModel:
        listed = scored if self.logprobs and text else None
        if not self.chat:
            offset = self._offsets.get(index, 0)
            logprobs = text_logprobs(listed, offset)
            self._offsets[index] = offset + len(text or "")
            piece = TextChoice(index=index, text=text or "", logprobs=logprobs)
            return self._text([piece])
        delta = ChatDelta(role="assistant" if first else None, content=text)
        choice = ChatChunkChoice(index=index, delta=delta, logprobs=chat_logprobs(listed))
        return self._chunk([choice])

    def usage(self, result: GenerationResult) -> WireModel:
        """The last chunk of ``stream_options.include_usage``: usage, no choices."""
        if not self.chat:
            return self._text([], usage=_usage(result))
        return self._chunk([], usage=_usage(result))

    def _chunk(self, choices: list[ChatChunkChoice], usage: Usage | None = None) -> WireModel:
        return ChatCompletionChunk(
            id=self.id, created=self.created, model=self.start.model, choices=choices, usage=usage
        )

    def _text(self, choices: list[TextChoice], **extra: Any) -> WireModel:
        return Completion(
            id=self.id, created=self.created, model=self.start.model, choices=choices, **extra
        )


def _usage(result: GenerationResult) -> Usage:
    usage = result.usage
    return Usage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
    )


def _finish(result: GenerationResult) -> str:
    """OpenAI knows stop, length and tool_calls; a cancelled generation stopped."""
    if result.finish_reason in ("length", "tool_calls"):
        return result.finish_reason
    return "stop"


@web.stream_request_body
class ChatCompletionsHandler(OpenAIHandler, GenerateHandler):
    """``POST v1/chat/completions``: one JSON document, or SSE chunks then ``[DONE]``."""

    request_model: ClassVar[type[ChatCompletionRequest | CompletionRequest]] = ChatCompletionRequest

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        try:
            request = await self.parse_json_body(self.request_model)
            self.check_model(request.model, "llm")
            generate = request.to_generate()
            await check_format(generate)
            events = open_generation(
                self.engine,
                self.username,
                generate,
                self.limits,
                request.logprob_count,
                request.choices,
            )
            start = await first_event(events)
        except EngineError as exc:
            self.send_engine_error(exc)
            return
        self._request_id = start.request_id
        chat = self.request_model is ChatCompletionRequest
        echo = request.echoed if isinstance(request, CompletionRequest) else ""
        answer = _Answer(start, chat, logprobs=request.logprob_count is not None, echo=echo)
        try:
            if request.stream:
                await self._sse(answer, events, request.include_usage, request.choices)
            else:
                await self.reply_last(events, answer.whole)
        finally:
            await events.aclose()  # cancels the job if the client went away

    async def _sse(
        self, answer: _Answer, events: Events, include_usage: bool, choices: int
    ) -> None:
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")

        async def send(data: str) -> None:
            self.write(f"data: {data}\n\n")
            await self.flush()

        try:
            for index in range(choices):
                if answer.chat:  # OpenAI's first chunk names the role
                    await send(answer.chunk("", first=True, index=index).to_json())
                elif answer.echo:
                    await send(answer.chunk(answer.echo, index=index).to_json())
            try:
                async for event in events:
                    if isinstance(event, TokenChunk):
                        chunk = answer.chunk(event.text, scored=event.logprobs, index=event.index)
                        await send(chunk.to_json())
                        continue
                    result: GenerationResult = event
                    if (calls := answer.calls(result)) is not None:
                        await send(calls.to_json())
                    await send(answer.finishes(result).to_json())
                    if include_usage:
                        await send(answer.usage(result).to_json())
            except StreamClosedError:
                raise
            except EngineError as exc:  # headers are sent: report in-band, as OpenAI does
                await send(openai_error(exc.status, str(exc)).to_json())
            except Exception as exc:
                self.log.exception("neira: generation failed")
                await send(openai_error(500, f"generation failed: {exc}").to_json())
            await send("[DONE]")
            self.finish()
        except StreamClosedError:
            pass  # the client left; the caller's aclose() cancels the job


@web.stream_request_body
class CompletionsHandler(ChatCompletionsHandler):
    """``POST v1/completions``: a prompt, answered like a chat (one user message)."""

    request_model = CompletionRequest
