"""The input items of ``v1/responses``, and the chat messages they stand for.

An item is a message (``type`` may be left out; text parts are read:
``input_text``, an earlier answer's ``output_text`` and ``refusal``;
images, files and audio are refused by name), a ``function_call`` the model
made earlier, or a ``function_call_output`` (a call's result). Any other
item type (reasoning, item references, built-in tools' calls) is refused,
naming ``input[i].type``. ``items_as_chat`` turns them into the messages
``api/generate`` takes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from .base import RequestModel, Text
from .generate import ChatMessage
from .openai_messages import MAX_NAME_CHARS
from .tools import CallId, FunctionCall, FunctionName, ToolCall

MAX_PARTS = 64
ShortText = Annotated[str, Field(max_length=MAX_NAME_CHARS)]


class ContentPart(RequestModel):
    """A part of a message's content: text is read; images, files and audio are refused."""

    type: Literal[
        "input_text", "output_text", "refusal", "input_image", "input_file", "input_audio"
    ]
    text: Text | None = None
    refusal: Text | None = None
    annotations: list[Any] | None = Field(None, description="Of an earlier output: unused.")
    logprobs: list[Any] | None = Field(None, description="Of an earlier output: unused.")
    image_url: Any = None
    file_id: Any = None
    file_data: Any = None
    file_url: Any = None
    filename: Any = None
    detail: Any = None
    input_audio: Any = None

    @field_validator("type")
    @classmethod
    def _readable(cls, kind: str) -> str:
        if kind not in ("input_text", "output_text", "refusal"):
            raise ValueError(f"is {kind!r}; this server's models read text only")
        return kind

    @model_validator(mode="after")
    def _has_text(self) -> ContentPart:
        if (self.refusal if self.type == "refusal" else self.text) is None:
            field = "refusal" if self.type == "refusal" else "text"
            raise ValueError(f"field '{field}' is required in a {self.type!r} part")
        return self

    @property
    def words(self) -> str:
        return (self.refusal if self.type == "refusal" else self.text) or ""


def _parts(value: Any) -> Any:
    return [{"type": "input_text", "text": value}] if isinstance(value, str) else value


Parts = Annotated[list[ContentPart], Field(max_length=MAX_PARTS)]


class MessageItem(RequestModel):
    """A message (``type`` may be left out); ``developer`` counts as ``system``."""

    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: Annotated[Parts, Field(description="A string, or text parts.")]
    id: ShortText | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None
    phase: Any = Field(None, description="Of an earlier output: unused.")

    @field_validator("content", mode="before")
    @classmethod
    def _string_content(cls, value: Any) -> Any:
        return _parts(value)

    def as_chat(self) -> ChatMessage:
        role = "system" if self.role in ("system", "developer") else self.role
        text = "".join(part.words for part in self.content)
        return ChatMessage(role=role, content=text)  # type: ignore[arg-type]


class FunctionCallItem(RequestModel):
    """A call the model made earlier (sent back with its output)."""

    type: Literal["function_call"]
    call_id: CallId
    name: FunctionName
    arguments: Text
    id: ShortText | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None
    namespace: ShortText | None = Field(None, description="Accepted, unused.")
    caller: Any = Field(None, description="Accepted, unused.")

    def as_call(self) -> ToolCall:
        return ToolCall(
            id=self.call_id, function=FunctionCall(name=self.name, arguments=self.arguments)
        )


class FunctionCallOutputItem(RequestModel):
    """A call's result: text (or text parts), naming the call's ``call_id``."""

    type: Literal["function_call_output"]
    call_id: CallId
    output: Annotated[Parts, Field(description="A string, or text parts.")]
    id: ShortText | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None

    @field_validator("output", mode="before")
    @classmethod
    def _string_output(cls, value: Any) -> Any:
        return _parts(value)

    def as_chat(self) -> ChatMessage:
        text = "".join(part.words for part in self.output)
        return ChatMessage(role="tool", content=text, tool_call_id=self.call_id)


class OtherItem(RequestModel):
    """Any other item type (reasoning, item references, built-in tools' calls): refused."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: str

    @model_validator(mode="after")
    def _refused(self) -> OtherItem:
        raise ValueError(
            f"is a {self.type!r} item; this server reads messages, 'function_call' and "
            "'function_call_output' items"
        )


def _item_kind(value: Any) -> str:
    kind = value.get("type", "message") if isinstance(value, dict) else "message"
    return kind if kind in ("message", "function_call", "function_call_output") else "type"


InputItem = Annotated[
    Annotated[MessageItem, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")]
    | Annotated[OtherItem, Tag("type")],
    Discriminator(_item_kind),
]


def items_as_chat(
    items: list[MessageItem | FunctionCallItem | FunctionCallOutputItem],
) -> list[ChatMessage]:
    """The items as chat messages: consecutive calls join the assistant message before them
    (or a new one); each call's output is a tool message."""
    out: list[ChatMessage] = []
    for item in items:
        if isinstance(item, FunctionCallItem):
            last = out[-1] if out else None
            if last is None or last.role != "assistant":
                last = ChatMessage(role="assistant", content="")
                out.append(last)
            last.tool_calls = [*(last.tool_calls or []), item.as_call()]
        else:
            out.append(item.as_chat())
    return out


__all__ = ["InputItem", "items_as_chat"]
