"""Serving OpenAI's ``v1/responses`` on the neira engine, as chat completions are served.

``open_response`` checks ``model`` (a listed LLM), prepends the stored
conversation of ``previous_response_id`` (the user's own, from
``ResponseStore``), turns the items into a ``GenerateRequest``, refuses a
format no grammar can follow and starts it with ``generate.open_generation``:
the same queue, router, fairness, quotas, limits and cancellation as
``v1/chat/completions``. The ``OpenResponse`` it returns gives the whole
response (``whole``) or its stream of events (``events``), and stores the
response when ``store`` is not false. A failure after the stream began ends
it with ``response.failed``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from ..engine.llm import TokenChunk
from ..engine.service import NeiraEngine
from ..engine.types import EngineError, GenerationResult
from ..protocol import ChatMessage, GenerateRequest, WireModel
from ..protocol.openai_answers import NeiraInfo
from ..protocol.openai_response_objects import (
    ArgumentsDeltaEvent,
    ArgumentsDoneEvent,
    ContentPartEvent,
    EchoedTool,
    FunctionCallOutput,
    IncompleteDetails,
    OutputItemEvent,
    OutputMessage,
    OutputText,
    ResponseErrorDetail,
    ResponseLifecycleEvent,
    ResponseObject,
    ResponseUsage,
    TextDeltaEvent,
    TextDoneEvent,
)
from ..protocol.openai_responses import ResponseRequest, items_as_chat
from ..protocol.tools import FunctionCall, ToolCall
from .errors import OpenAIRequestError
from .generate import StartedGeneration, check_format, open_generation
from .limits import RequestLimits
from .models import check_model
from .response_store import ResponseStore

log = logging.getLogger("neira_jupyter")

OutputItem = OutputMessage | FunctionCallOutput


def _error_code(status: int) -> Any:
    return {429: "rate_limit_exceeded", 400: "invalid_prompt"}.get(status, "server_error")


@dataclass
class OpenResponse:
    """A started response: its generation, the conversation it continues, its documents."""

    request: ResponseRequest
    generation: StartedGeneration
    conversation: list[ChatMessage]
    store: ResponseStore
    user: str
    created_at: int = field(default_factory=lambda: int(time.time()))
    _sequence: int = 0

    @property
    def id(self) -> str:
        return "resp_" + self.generation.request_id

    def document(self, status: Any, output: list[OutputItem], **extra: Any) -> ResponseObject:
        """The response object as it stands (``extra``: usage, error, ...)."""
        request = self.request
        fmt = request.text.format if request.text is not None else None
        tools = [
            EchoedTool(name=t.name, description=t.description, parameters=t.parameters,
                       strict=t.strict)
            for t in request.tools or []
        ]  # fmt: skip
        choice = request.tool_choice
        return ResponseObject(
            id=self.id,
            created_at=self.created_at,
            status=status,
            instructions=request.instructions,
            model=self.generation.start.model,
            output=output,
            parallel_tool_calls=request.parallel_tool_calls is not False,
            previous_response_id=request.previous_response_id,
            max_output_tokens=request.max_output_tokens,
            max_tool_calls=request.max_tool_calls,
            temperature=request.temperature,
            top_p=request.top_p,
            text={"format": fmt.to_dict() if fmt is not None else {"type": "text"}},
            tool_choice=choice.to_dict() if isinstance(choice, WireModel) else choice or "auto",
            tools=tools,
            metadata=request.metadata or {},
            store=request.stores,
            **extra,
        )

    def finished(self, result: GenerationResult, text: str) -> ResponseObject:
        """The finished response for ``result`` (``text``: the message's text); stored when
        asked."""
        cut = result.finish_reason == "length"
        cancelled = result.finish_reason == "cancelled"
        status = "incomplete" if cut else "cancelled" if cancelled else "completed"
        output: list[OutputItem] = []
        calls = self.calls(result)
        if text or not calls:
            output.append(
                self.message(text, "completed" if status == "completed" else "incomplete")
            )
        output += [self.call_item(call) for call in calls]
        usage = result.usage
        done = self.document(
            status,
            output,
            completed_at=int(time.time()) if status == "completed" else None,
            incomplete_details=IncompleteDetails() if cut else None,
            usage=ResponseUsage(
                input_tokens=usage.prompt_tokens,
                output_tokens=usage.completion_tokens,
                total_tokens=usage.total_tokens,
            ),
            neira=NeiraInfo(
                request_id=self.generation.request_id,
                route=result.route,
                route_reason=result.route_reason,
            ),
        )
        if self.request.stores:
            said = ChatMessage(role="assistant", content=text, tool_calls=calls or None)
            self.store.put(self.user, done, [*self.conversation, said])
        return done

    def calls(self, result: GenerationResult) -> list[ToolCall]:
        """The calls the answer makes, at most ``max_tool_calls`` (one without
        ``parallel_tool_calls``)."""
        calls = [
            ToolCall(id=c.id, function=FunctionCall(name=c.name, arguments=c.arguments))
            for c in result.tool_calls
        ]
        limit = self.request.max_tool_calls
        if self.request.parallel_tool_calls is False:
            limit = min(limit, 1) if limit is not None else 1
        return calls[:limit] if limit is not None else calls

    def message(self, text: str, status: Any) -> OutputMessage:
        return OutputMessage(
            id="msg_" + self.generation.request_id,
            status=status,
            content=[OutputText(text=text)],
        )

    def call_item(self, call: ToolCall, status: Any = "completed") -> FunctionCallOutput:
        return FunctionCallOutput(
            id="fc_" + call.id,
            status=status,
            call_id=call.id,
            name=call.function.name,
            arguments=call.function.arguments,
        )

    async def whole(self) -> ResponseObject:
        """The finished response (``EngineError`` raised)."""
        result = await self.generation.result()
        return self.finished(result, result.text)

    def _next(self) -> int:
        self._sequence += 1
        return self._sequence - 1

    async def events(self) -> AsyncGenerator[WireModel, None]:
        """The stream's events (module docstring of ``openai_response_objects``)."""
        seq = self._next
        yield ResponseLifecycleEvent(
            type="response.created",
            sequence_number=seq(),
            response=self.document("in_progress", []),
        )
        yield ResponseLifecycleEvent(
            type="response.in_progress", sequence_number=seq(),
            response=self.document("in_progress", []),
        )  # fmt: skip
        text, opened = "", False
        item_id = "msg_" + self.generation.request_id
        try:
            async for event in self.generation.events:
                if isinstance(event, TokenChunk):
                    if not event.text:
                        continue
                    if not opened:
                        opened = True
                        for opening in self._open_message():
                            yield opening
                    text += event.text
                    yield TextDeltaEvent(
                        sequence_number=seq(), item_id=item_id, output_index=0, delta=event.text
                    )
                    continue
                done = self.finished(event, text)
                for index, item in enumerate(done.output):
                    if isinstance(item, OutputMessage):
                        if not opened:
                            for opening in self._open_message():
                                yield opening
                        for closing in self._close_message(item):
                            yield closing
                    else:
                        for step in self._call_events(item, index):
                            yield step
                kind = "response.completed" if done.status == "completed" else "response.incomplete"
                yield ResponseLifecycleEvent(type=kind, sequence_number=seq(), response=done)
        except EngineError as exc:  # the answer's status is sent: report in-band
            yield self._failed(exc.status, str(exc))
        except Exception as exc:
            log.exception("neira: response failed")
            yield self._failed(500, f"generation failed: {exc}")

    def _open_message(self) -> list[WireModel]:
        seq, empty = self._next, self.message("", "in_progress")
        return [
            OutputItemEvent(type="response.output_item.added", sequence_number=seq(),
                            output_index=0, item=empty.model_copy(update={"content": []})),
            ContentPartEvent(type="response.content_part.added", sequence_number=seq(),
                             item_id=empty.id, output_index=0, part=OutputText(text="")),
        ]  # fmt: skip

    def _close_message(self, item: OutputMessage) -> list[WireModel]:
        seq, part = self._next, item.content[0]
        return [
            TextDoneEvent(sequence_number=seq(), item_id=item.id, output_index=0, text=part.text),
            ContentPartEvent(type="response.content_part.done", sequence_number=seq(),
                             item_id=item.id, output_index=0, part=part),
            OutputItemEvent(type="response.output_item.done", sequence_number=seq(),
                            output_index=0, item=item),
        ]  # fmt: skip

    def _call_events(self, item: FunctionCallOutput, index: int) -> list[WireModel]:
        seq = self._next
        opened = item.model_copy(update={"status": "in_progress", "arguments": ""})
        return [
            OutputItemEvent(type="response.output_item.added", sequence_number=seq(),
                            output_index=index, item=opened),
            ArgumentsDeltaEvent(sequence_number=seq(), item_id=item.id, output_index=index,
                                delta=item.arguments),
            ArgumentsDoneEvent(sequence_number=seq(), item_id=item.id, output_index=index,
                               name=item.name, arguments=item.arguments),
            OutputItemEvent(type="response.output_item.done", sequence_number=seq(),
                            output_index=index, item=item),
        ]  # fmt: skip

    def _failed(self, status: int, message: str) -> WireModel:
        error = ResponseErrorDetail(code=_error_code(status), message=message)
        failed = self.document("failed", [], error=error)
        return ResponseLifecycleEvent(
            type="response.failed", sequence_number=self._next(), response=failed
        )

    async def aclose(self) -> None:
        """Cancel the job when the response was not read to the end."""
        await self.generation.aclose()


def _generate_request(request: ResponseRequest, messages: list[ChatMessage]) -> GenerateRequest:
    return GenerateRequest(
        messages=messages,
        model=request.model,
        max_tokens=request.max_output_tokens,
        temperature=request.temperature,
        top_p=request.top_p,
        json_schema=request.json_schema,
        tools=request.chat_tools(),
        tool_choice=request.chat_tool_choice(),
        stream=bool(request.stream),
    )


async def open_response(
    engine: NeiraEngine,
    user: str,
    request: ResponseRequest,
    limits: RequestLimits,
    store: ResponseStore,
) -> OpenResponse:
    """Start ``user``'s response; every refusal (model, previous response, format, limits,
    queue) is raised as an ``EngineError`` before anything is sent."""
    check_model(engine, request.model, "llm")
    history: list[ChatMessage] = []
    if request.previous_response_id is not None:
        stored = store.get(user, request.previous_response_id)
        if stored is None:
            kept = f"responses are kept {store.ttl_s:g} s" if store.enabled else "none is kept"
            message = (
                f"No response {request.previous_response_id!r} of yours is stored "
                f"({kept}; send the whole conversation as 'input' instead)"
            )
            raise OpenAIRequestError(404, message, "previous_response_id", "not_found")
        history = list(stored.conversation)
    conversation = [*history, *items_as_chat(request.items)]
    system = (
        [ChatMessage(role="system", content=request.instructions)] if request.instructions else []
    )
    generate = _generate_request(request, system + conversation)
    await check_format(generate, schema_field="text.format.schema")
    generation = await open_generation(engine, user, generate, limits)
    return OpenResponse(request, generation, conversation, store, user)
