"""What ``v1/responses`` answers: the response object, its output items and stream events.

In the shapes of OpenAI's spec (``Response``, ``OutputMessage``,
``FunctionToolCall``, the ``response.*`` stream events), every required
field present; ``tests/data/openai_spec.json`` holds the spec's schemas
and the tests validate real answers and every event against them. A stream
is ``response.created``, ``response.in_progress``, then per output item
``output_item.added`` ... ``output_item.done`` (a message's
``content_part.added``, ``output_text.delta``..., ``output_text.done``,
``content_part.done``; a call's ``function_call_arguments.delta`` and
``.done``), and ``response.completed`` (``response.incomplete`` when
``max_output_tokens`` cut it or it was cancelled, ``response.failed`` on an
error). Each event
has its ``sequence_number``. ``neira`` is neira's addition.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_serializer

from .base import WireModel
from .openai_answers import NeiraInfo

ItemStatus = Literal["in_progress", "completed", "incomplete"]
ResponseStatus = Literal["completed", "failed", "in_progress", "incomplete", "cancelled"]


class OutputText(WireModel):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[Any] = Field(default_factory=list)
    logprobs: list[Any] = Field(default_factory=list)


class OutputMessage(WireModel):
    """The model's text, as one ``output_text`` part."""

    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    status: ItemStatus
    content: list[OutputText]


class FunctionCallOutput(WireModel):
    """A call the model makes: ``call_id`` is what the ``function_call_output`` names."""

    id: str
    type: Literal["function_call"] = "function_call"
    status: ItemStatus
    call_id: str
    name: str
    arguments: str


OutputItem = Annotated[OutputMessage | FunctionCallOutput, Field(discriminator="type")]


class EchoedTool(WireModel):
    type: Literal["function"] = "function"
    name: str
    description: str | None
    parameters: dict[str, Any] | None
    strict: bool | None


class InputTokenDetails(WireModel):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokenDetails(WireModel):
    reasoning_tokens: int = 0


class ResponseUsage(WireModel):
    input_tokens: int
    input_tokens_details: InputTokenDetails = Field(default_factory=InputTokenDetails)
    output_tokens: int
    output_tokens_details: OutputTokenDetails = Field(default_factory=OutputTokenDetails)
    total_tokens: int


class ResponseErrorDetail(WireModel):
    code: Literal["server_error", "rate_limit_exceeded", "invalid_prompt"]
    message: str


class IncompleteDetails(WireModel):
    reason: Literal["max_output_tokens"] = "max_output_tokens"


class ResponseObject(WireModel):
    """A response: the whole answer of ``stream: false``, and each lifecycle event's."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_serialization_defaults_required=False
    )

    id: str = Field(description="resp_<request_id>.")
    object: Literal["response"] = "response"
    created_at: int
    status: ResponseStatus
    completed_at: int | None = None
    error: ResponseErrorDetail | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None
    model: str
    output: list[OutputItem]
    parallel_tool_calls: bool
    previous_response_id: str | None
    max_output_tokens: int | None
    max_tool_calls: int | None
    temperature: float | None
    top_p: float | None
    text: dict[str, Any]
    tool_choice: Any
    tools: list[EchoedTool]
    truncation: Literal["disabled"] = "disabled"
    usage: ResponseUsage | None = None
    metadata: dict[str, str]
    background: bool = False
    store: bool
    neira: NeiraInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        """Without ``usage`` and ``neira`` until the response is done (the spec has no null
        usage)."""
        unset = {name for name in ("usage", "neira") if getattr(self, name) is None}
        return self.model_dump(mode="json", exclude=unset)


class ResponseDeleted(WireModel):
    """``DELETE v1/responses/{id}``'s answer."""

    id: str
    object: Literal["response"] = "response"
    deleted: Literal[True] = True


class _Event(WireModel):
    sequence_number: int


class ResponseLifecycleEvent(_Event):
    type: Literal[
        "response.created", "response.in_progress", "response.completed",
        "response.incomplete", "response.failed",
    ]  # fmt: skip
    response: ResponseObject

    @field_serializer("response")
    def _response(self, response: ResponseObject) -> dict[str, Any]:
        return response.to_dict()


class OutputItemEvent(_Event):
    type: Literal["response.output_item.added", "response.output_item.done"]
    output_index: int
    item: OutputItem


class ContentPartEvent(_Event):
    type: Literal["response.content_part.added", "response.content_part.done"]
    item_id: str
    output_index: int
    content_index: int = 0
    part: OutputText


class TextDeltaEvent(_Event):
    type: Literal["response.output_text.delta"] = "response.output_text.delta"
    item_id: str
    output_index: int
    content_index: int = 0
    delta: str
    logprobs: list[Any] = Field(default_factory=list)


class TextDoneEvent(_Event):
    type: Literal["response.output_text.done"] = "response.output_text.done"
    item_id: str
    output_index: int
    content_index: int = 0
    text: str
    logprobs: list[Any] = Field(default_factory=list)


class ArgumentsDeltaEvent(_Event):
    type: Literal["response.function_call_arguments.delta"] = (
        "response.function_call_arguments.delta"
    )
    item_id: str
    output_index: int
    delta: str


class ArgumentsDoneEvent(_Event):
    type: Literal["response.function_call_arguments.done"] = "response.function_call_arguments.done"
    item_id: str
    output_index: int
    name: str
    arguments: str


ResponseStreamEvent = Annotated[
    ResponseLifecycleEvent
    | OutputItemEvent
    | ContentPartEvent
    | TextDeltaEvent
    | TextDoneEvent
    | ArgumentsDeltaEvent
    | ArgumentsDoneEvent,
    Field(discriminator="type"),
]
"""One SSE event of a streamed response (``event:`` names its ``type``)."""
