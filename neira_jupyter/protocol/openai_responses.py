"""``POST v1/responses``: OpenAI's Responses API request, and the conversation it stands for.

Every field of the spec's ``CreateResponse`` is declared. Honoured:
``model``, ``input`` (a string, or items: messages, ``function_call`` and
``function_call_output``), ``instructions`` (a system message first),
``max_output_tokens``, ``temperature``, ``top_p``, ``text.format``
(``text``, ``json_object`` (with llama.cpp's ``schema`` too),
``json_schema``, through the grammar), ``tools`` (functions),
``tool_choice``, ``parallel_tool_calls``, ``max_tool_calls`` (calls past it
are dropped), ``store`` and ``previous_response_id`` (the server's bounded
per-user store), ``stream``, ``metadata`` (echoed). Accepted, changing
nothing: ``user``, ``safety_identifier``, ``prompt_cache_*``,
``service_tier``, ``stream_options``, ``include`` (of what this server never
makes: tool sources, images, reasoning), ``truncation: "disabled"``.
Refused unless at their no-op value, naming the field: ``background``,
``conversation``, ``context_management``, ``prompt``, ``moderation``,
``reasoning``, ``top_logprobs``, ``truncation: "auto"``,
``text.verbosity``, images, files and audio in the input, and every item and
tool type other than those above. The items (``openai_response_items``)
become the messages ``api/generate`` takes (calls and their outputs as tool
messages).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from .base import RequestModel, Text
from .generate import MAX_TOKENS_LIMIT
from .openai_messages import ModelName, StreamOptions, no_op
from .openai_response_items import (
    FunctionCallItem,
    FunctionCallOutputItem,
    InputItem,
    MessageItem,
    OtherItem,
    ShortText,
    items_as_chat,
)
from .tools import (
    MAX_TOOL_DESCRIPTION,
    MAX_TOOLS,
    ChosenFunction,
    FunctionDefinition,
    FunctionName,
    FunctionTool,
    NamedToolChoice,
    ToolChoiceOption,
    chosen,
)

MAX_ITEMS = 512
Metadata = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=512)]],
    Field(max_length=16),
]

UNUSED_INCLUDES = frozenset(
    {"web_search_call.action.sources", "web_search_call.results", "code_interpreter_call.outputs",
     "computer_call_output.output.image_url", "file_search_call.results",
     "message.input_image.image_url", "reasoning.encrypted_content"}
)  # fmt: skip
"""``include`` values for output this server never makes: accepted, nothing to add."""


def _one_message(value: Any) -> Any:
    """A string ``input`` as the one user message it stands for."""
    return [{"role": "user", "content": value}] if isinstance(value, str) else value


class ResponseFunctionTool(RequestModel):
    """A function the model may call (the Responses API's flat form)."""

    type: Literal["function"]
    name: FunctionName
    description: Text | None = Field(None, max_length=MAX_TOOL_DESCRIPTION)
    parameters: dict[str, Any] | None = Field(None, description="A JSON Schema of the arguments.")
    strict: bool | None = Field(None, description="Accepted: a forced call follows the schema.")
    output_schema: dict[str, Any] | None = Field(None, description="Accepted, unused.")
    defer_loading: bool | None = Field(None, description="Only false: there is no tool search.")
    allowed_callers: list[Any] | None = Field(None, description="Accepted, unused.")

    def as_chat_tool(self) -> FunctionTool:
        definition = FunctionDefinition(
            name=self.name, description=self.description, parameters=self.parameters,
            strict=self.strict,
        )  # fmt: skip
        return FunctionTool(type="function", function=definition)


class FunctionChoice(RequestModel):
    """``tool_choice`` naming a function: ``{"type": "function", "name": ...}``."""

    type: Literal["function"]
    name: FunctionName


class FormatText(RequestModel):
    type: Literal["text"]


class FormatJsonObject(RequestModel):
    """Any JSON object, or (llama.cpp server's form) one that follows ``schema``."""

    type: Literal["json_object"]
    schema_: dict[str, Any] | None = Field(None, alias="schema")


class FormatJsonSchema(RequestModel):
    """JSON that follows ``schema``."""

    type: Literal["json_schema"]
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    schema_: dict[str, Any] = Field(alias="schema")
    description: str | None = None
    strict: bool | None = None


TextFormat = Annotated[
    FormatText | FormatJsonObject | FormatJsonSchema, Field(discriminator="type")
]


class TextOptions(RequestModel):
    """``text``: the answer's ``format``; ``verbosity`` only ``medium``."""

    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningOptions(RequestModel):
    """``reasoning``: only ``effort`` ``none`` (the models do not reason)."""

    effort: str | None = Field(None, max_length=16)
    summary: str | None = Field(None, max_length=16)
    generate_summary: str | None = Field(None, max_length=16)
    mode: str | None = Field(None, max_length=32)


class ResponseRequest(RequestModel):
    """The body of ``POST v1/responses``."""

    model: ModelName
    input: Annotated[
        list[InputItem],
        BeforeValidator(_one_message, json_schema_input_type=Text | list[InputItem]),
        Field(min_length=1, max_length=MAX_ITEMS),
    ] = Field(description="A string (one user message), or a list of items.")
    instructions: Text | None = Field(None, description="A system message before the input.")
    max_output_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_LIMIT)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    text: TextOptions | None = None
    tools: list[ResponseFunctionTool] | None = Field(None, max_length=MAX_TOOLS)
    tool_choice: Literal["none", "auto", "required"] | FunctionChoice | None = None
    parallel_tool_calls: bool | None = Field(None, description="False: at most one call.")
    max_tool_calls: int | None = Field(None, ge=0, le=MAX_TOOLS, description="Calls kept.")
    store: bool | None = Field(None, description="Keep the response (default true).")
    previous_response_id: ShortText | None = Field(None, description="Continue a stored one.")
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    metadata: Metadata | None = Field(None, description="Echoed in the response.")
    include: Annotated[list[ShortText], Field(max_length=16)] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    user: ShortText | None = Field(None, description="Accepted, unused.")
    safety_identifier: str | None = Field(None, max_length=64, description="Accepted, unused.")
    prompt_cache_key: ShortText | None = Field(None, description="Accepted, unused.")
    prompt_cache_options: dict[str, Any] | None = Field(None, description="Accepted, unused.")
    prompt_cache_retention: Literal["in_memory", "24h"] | None = None
    service_tier: ShortText | None = Field(None, description="Accepted, unused.")
    reasoning: ReasoningOptions | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20, description="Only 0.")
    background: bool | None = Field(None, description="Only false.")
    conversation: Any = Field(None, description="Refused: send previous_response_id.")
    context_management: Any = Field(None, description="Refused: no compaction.")
    prompt: Any = Field(None, description="Refused: no stored prompts.")
    moderation: Any = Field(None, description="Refused: no moderation.")

    @model_validator(mode="after")
    def _supported(self) -> ResponseRequest:
        if self.stream_options is not None and not self.stream:
            raise ValueError("field 'stream_options' is only allowed when 'stream' is true")
        chosen(self.chat_tools(), self.chat_tool_choice())
        for name in self.include or ():
            if name not in UNUSED_INCLUDES:
                raise ValueError(
                    f"field 'include' asks for {name!r}, which this server does not add"
                )
        for index, tool in enumerate(self.tools or ()):
            no_op(f"tools[{index}].defer_loading", tool.defer_loading, (False,), "no tool search")
        if self.text is not None:
            why = "the answer's length is the model's own"
            no_op("text.verbosity", self.text.verbosity, ("medium",), why)
        if self.reasoning is not None:
            no_op("reasoning.effort", self.reasoning.effort, ("none",), "the models do not reason")
            for name in ("summary", "generate_summary", "mode"):
                no_op(f"reasoning.{name}", getattr(self.reasoning, name), (), "no reasoning")
        no_op("truncation", self.truncation, ("disabled",),
              "a prompt too long for the model is a 400, never cut")  # fmt: skip
        no_op("top_logprobs", self.top_logprobs, (0,), "log probabilities are not served here")
        no_op("background", self.background, (False,), "responses run while the request waits")
        no_op("conversation", self.conversation, (), "send 'previous_response_id' instead")
        no_op("context_management", self.context_management, (), "there is no compaction")
        no_op("prompt", self.prompt, (), "there are no stored prompts; send 'input'")
        no_op("moderation", self.moderation, (), "there is no moderation")
        return self

    @property
    def stores(self) -> bool:
        return self.store is not False

    @property
    def items(self) -> list[MessageItem | FunctionCallItem | FunctionCallOutputItem]:
        return [item for item in self.input if not isinstance(item, OtherItem)]

    def chat_tools(self) -> list[FunctionTool] | None:
        return [tool.as_chat_tool() for tool in self.tools] if self.tools else None

    def chat_tool_choice(self) -> ToolChoiceOption | None:
        choice = self.tool_choice
        if isinstance(choice, FunctionChoice):
            return NamedToolChoice(type="function", function=ChosenFunction(name=choice.name))
        return choice

    @property
    def json_schema(self) -> dict[str, Any] | None:
        kind = self.text.format if self.text is not None else None
        if isinstance(kind, FormatJsonObject):
            return kind.schema_ if kind.schema_ is not None else {"type": "object"}
        if isinstance(kind, FormatJsonSchema):
            return kind.schema_
        return None


__all__ = ["ResponseRequest", "items_as_chat"]
