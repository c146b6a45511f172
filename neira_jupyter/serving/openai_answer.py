"""OpenAI's completion documents, built from a generation's engine events.

``ChatAnswer`` builds ``v1/chat/completions``' documents, ``TextAnswer``
``v1/completions``' (the legacy shape): the whole answer (``stream: false``)
or the stream's chunks -- the opening ones, one per token, the tool calls,
each choice's finish reason and, with ``stream_options.include_usage``, the
usage. Both share ``CompletionAnswer``'s id, creation time and choices.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..engine.generation import GenerationStart
from ..engine.types import GenerationResult
from ..engine.types import TokenLogprob as ScoredToken
from ..protocol import Usage, WireModel
from ..protocol.openai_answers import (
    AssistantMessage,
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatDelta,
    ChatLogprobs,
    Completion,
    NeiraInfo,
    TextChoice,
    TextLogprobs,
    TokenLogprob,
    ToolCallDelta,
    TopLogprob,
)
from .wire import tool_calls


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


def usage_of(result: GenerationResult) -> Usage:
    """The wire's token counts of a result."""
    usage = result.usage
    return Usage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
    )


def finish_reason(result: GenerationResult) -> str:
    """OpenAI knows stop, length and tool_calls; a cancelled generation stopped."""
    if result.finish_reason in ("length", "tool_calls"):
        return result.finish_reason
    return "stop"


def choices_of(result: GenerationResult) -> list[GenerationResult]:
    """One result per choice, in their order (``n``)."""
    return [result, *result.others]


class CompletionAnswer:
    """What a chat and a text completion's documents share: id, creation time, model."""

    id_prefix = ""

    def __init__(self, start: GenerationStart, logprobs: bool = False) -> None:
        self.id = self.id_prefix + start.request_id
        self.created = int(time.time())
        self.start = start
        self.logprobs = logprobs

    def info(self, result: GenerationResult) -> NeiraInfo:
        """The ``neira`` field: which request it was and which backend served it."""
        return NeiraInfo(
            request_id=self.start.request_id, route=result.route, route_reason=result.route_reason
        )

    def scored(self, result: GenerationResult) -> list[ScoredToken] | None:
        """A choice's scored tokens when logprobs were asked for, else None."""
        return (result.logprobs or []) if self.logprobs else None

    def whole(self, result: GenerationResult) -> WireModel:
        """The answer of ``stream: false``."""
        raise NotImplementedError

    def opening(self, choices: int) -> list[WireModel]:
        """The chunks a stream begins with, before any token."""
        raise NotImplementedError

    def chunk(self, text: str, scored: Sequence[ScoredToken] = (), index: int = 0) -> WireModel:
        """The chunk of one piece of choice ``index``'s text."""
        raise NotImplementedError

    def calls(self, result: GenerationResult) -> WireModel | None:
        """The chunk of the calls the answer makes, or None."""
        return None

    def finishes(self, result: GenerationResult) -> WireModel:
        """The stream's closing chunk: each choice's finish reason."""
        raise NotImplementedError

    def usage(self, result: GenerationResult) -> WireModel:
        """The last chunk of ``stream_options.include_usage``: usage, no choices."""
        raise NotImplementedError


class ChatAnswer(CompletionAnswer):
    """``v1/chat/completions``: a ``ChatCompletion``, or ``ChatCompletionChunk``s."""

    id_prefix = "chatcmpl-"

    def whole(self, result: GenerationResult) -> WireModel:
        choices = [
            ChatChoice(
                index=index,
                message=AssistantMessage(
                    content=one.text or (None if one.tool_calls else ""),
                    tool_calls=tool_calls(one) or None,
                ),
                finish_reason=finish_reason(one),
                logprobs=chat_logprobs(self.scored(one)),
            )
            for index, one in enumerate(choices_of(result))
        ]
        return ChatCompletion(
            id=self.id,
            created=self.created,
            model=result.model,
            choices=choices,
            usage=usage_of(result),
            neira=self.info(result),
        )

    def opening(self, choices: int) -> list[WireModel]:
        """OpenAI's first chunk of each choice names the role."""
        return [self._delta(ChatDelta(role="assistant", content=""), i) for i in range(choices)]

    def chunk(self, text: str, scored: Sequence[ScoredToken] = (), index: int = 0) -> WireModel:
        listed = scored if self.logprobs and text else None
        return self._delta(ChatDelta(content=text), index, chat_logprobs(listed))

    def calls(self, result: GenerationResult) -> WireModel | None:
        """Each choice's calls, each call whole; None when no choice makes one."""
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
            for index, one in enumerate(choices_of(result))
            if one.tool_calls
        ]
        return self._chunk(choices) if choices else None

    def finishes(self, result: GenerationResult) -> WireModel:
        return self._chunk(
            [
                ChatChunkChoice(index=i, delta=ChatDelta(), finish_reason=finish_reason(r))
                for i, r in enumerate(choices_of(result))
            ]
        )

    def usage(self, result: GenerationResult) -> WireModel:
        return self._chunk([], usage=usage_of(result))

    def _delta(
        self, delta: ChatDelta, index: int, logprobs: ChatLogprobs | None = None
    ) -> WireModel:
        return self._chunk([ChatChunkChoice(index=index, delta=delta, logprobs=logprobs)])

    def _chunk(self, choices: list[ChatChunkChoice], usage: Usage | None = None) -> WireModel:
        return ChatCompletionChunk(
            id=self.id, created=self.created, model=self.start.model, choices=choices, usage=usage
        )


class TextAnswer(CompletionAnswer):
    """``v1/completions``: a ``Completion``, or ``Completion`` chunks; ``echo``: the prompt,
    when it is echoed before each choice's text."""

    id_prefix = "cmpl-"

    def __init__(self, start: GenerationStart, logprobs: bool = False, echo: str = "") -> None:
        super().__init__(start, logprobs)
        self.echo = echo
        self._offsets: dict[int, int] = {}  # choice -> where its next piece begins

    def whole(self, result: GenerationResult) -> WireModel:
        texts = [
            TextChoice(
                index=index,
                text=self.echo + one.text,
                finish_reason=finish_reason(one),
                logprobs=text_logprobs(self.scored(one)),
            )
            for index, one in enumerate(choices_of(result))
        ]
        return self._text(texts, usage=usage_of(result), neira=self.info(result))

    def opening(self, choices: int) -> list[WireModel]:
        """The echoed prompt of each choice, when it is echoed."""
        return [self.chunk(self.echo, index=i) for i in range(choices)] if self.echo else []

    def chunk(self, text: str, scored: Sequence[ScoredToken] = (), index: int = 0) -> WireModel:
        listed = scored if self.logprobs and text else None
        offset = self._offsets.get(index, 0)
        logprobs = text_logprobs(listed, offset)
        self._offsets[index] = offset + len(text)
        return self._text([TextChoice(index=index, text=text, logprobs=logprobs)])

    def finishes(self, result: GenerationResult) -> WireModel:
        ends = [
            TextChoice(index=i, text="", finish_reason=finish_reason(r))
            for i, r in enumerate(choices_of(result))
        ]
        return self._text(ends)

    def usage(self, result: GenerationResult) -> WireModel:
        return self._text([], usage=usage_of(result))

    def _text(self, choices: list[TextChoice], **extra: Any) -> WireModel:
        return Completion(
            id=self.id, created=self.created, model=self.start.model, choices=choices, **extra
        )
