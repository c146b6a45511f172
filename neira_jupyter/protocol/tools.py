"""Tool calling on the wire, in OpenAI's shapes (``api/generate`` and ``v1/chat/completions``).

A request offers ``tools`` (functions: a name, a description and a JSON
Schema of their ``parameters``) and may set ``tool_choice``: ``auto`` (the
model decides; the default with tools), ``none`` (no call), ``required``
(one call at least) or ``{"type": "function", "function": {"name": ...}}``
(that function). An answer that calls has ``tool_calls``, each with an
``id``, the function's ``name`` and its ``arguments`` as JSON text; the
client runs them and sends each result back as a ``tool`` message naming
the call's ``tool_call_id``, after the assistant message that made the calls.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from .base import RequestModel, Text

MAX_TOOLS = 64
MAX_TOOL_DESCRIPTION = 4096

FunctionName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
CallId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


class FunctionDefinition(RequestModel):
    """A function the model may call."""

    name: FunctionName
    description: Text | None = Field(None, max_length=MAX_TOOL_DESCRIPTION)
    parameters: dict[str, Any] | None = Field(
        None, description="A JSON Schema of the arguments (an object); none: any object."
    )
    strict: bool | None = Field(
        None, description="Accepted: a forced call always follows the schema."
    )


class FunctionTool(RequestModel):
    """One offered tool (only functions)."""

    type: Literal["function"]
    function: FunctionDefinition


class ChosenFunction(RequestModel):
    """The function ``tool_choice`` names."""

    name: FunctionName


class NamedToolChoice(RequestModel):
    """``tool_choice`` that names the function to call."""

    type: Literal["function"]
    function: ChosenFunction


ToolChoiceOption = Literal["none", "auto", "required"] | NamedToolChoice


class FunctionCall(RequestModel):
    """The function a call runs and its arguments (JSON text of an object)."""

    name: FunctionName
    arguments: Text


class ToolCall(RequestModel):
    """A call the model made (in an answer, and in the assistant messages sent back)."""

    id: CallId
    type: Literal["function"] = "function"
    function: FunctionCall


def chosen(
    tools: list[FunctionTool] | None, choice: ToolChoiceOption | None
) -> tuple[bool, str | None] | None:
    """What a request's ``tools`` and ``tool_choice`` ask: None for no tools, else
    ``(required, name)``. ``ValueError`` names the field that does not fit."""
    if not tools:
        if choice not in (None, "none", "auto"):
            raise ValueError("field 'tool_choice' asks for a call but 'tools' offers none")
        return None
    names = [tool.function.name for tool in tools]
    if len(set(names)) != len(names):
        raise ValueError("field 'tools' offers two functions with the same name")
    if choice == "none":
        return None
    if isinstance(choice, NamedToolChoice):
        if choice.function.name not in names:
            raise ValueError(
                f"field 'tool_choice' names {choice.function.name!r}, which 'tools' does not offer"
            )
        return True, choice.function.name
    return choice == "required", None


__all__ = [
    "MAX_TOOLS",
    "FunctionCall",
    "FunctionDefinition",
    "FunctionTool",
    "NamedToolChoice",
    "ToolCall",
    "ToolChoiceOption",
    "chosen",
]
