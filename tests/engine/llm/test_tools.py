"""Reading tool calls out of a model's text (``engine/llm/tools.py``), without a model."""

from __future__ import annotations

import json

import pytest

from neira_jupyter.engine.llm import TokenChunk
from neira_jupyter.engine.llm.tools import (
    HERMES,
    MISTRAL,
    ToolCallStream,
    ToolSyntax,
    tool_grammar,
    tool_syntax,
    with_tool_calls,
)
from neira_jupyter.engine.types import BadRequest, GenerationResult, ToolChoice

NAMES = {"get_weather", "add"}
TOOLS = json.dumps(
    [
        {"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "get_weather"}},
    ]
)


@pytest.mark.parametrize(
    ("syntax", "text", "content", "calls"),
    [
        (HERMES, '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>', "",
         [("add", {"a": 1, "b": 2})]),
        (HERMES, 'Let me see.\n<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}'
         '</tool_call>\n<tool_call>{"name": "add", "arguments": "{\\"a\\": 1}"}</tool_call>',
         "Let me see.", [("get_weather", {"city": "Oslo"}), ("add", {"a": 1})]),
        (HERMES, '```json\n{"name": "add", "arguments": {"a": 1}}\n```', "", [("add", {"a": 1})]),
        (HERMES, '<tool_call>{"name": "add", "arguments": {"a": 1}}', "", [("add", {"a": 1})]),
        (MISTRAL, '[TOOL_CALLS] [{"name": "add", "arguments": {"a": 1}}]', "", [("add", {"a": 1})]),
    ],
)  # fmt: skip
def test_calls_are_read_in_each_syntax(
    syntax: ToolSyntax, text: str, content: str, calls: list[tuple[str, dict[str, int]]]
) -> None:
    found = syntax.calls(text, NAMES)
    assert found is not None
    assert found[0] == content
    assert [(c.name, json.loads(c.arguments)) for c in found[1]] == calls
    assert all(len(c.id) == 9 and c.id.isalnum() for c in found[1])


@pytest.mark.parametrize(
    "text",
    [
        "The weather is fine.",
        '<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>',  # not offered
        '<tool_call>{"name": "add", "arguments": {"a": </tool_call>',  # cut short
        '{"name": "add", "arguments": [1, 2]}',  # arguments not an object
        '{"name": "add"} and {"name": "add"}',
    ],
)
def test_text_that_is_no_valid_call_stays_text(text: str) -> None:
    assert HERMES.calls(text, NAMES) is None


def test_the_stream_holds_back_only_what_may_be_a_call() -> None:
    stream = ToolCallStream(HERMES)
    assert stream.feed("  ") == ""  # white space alone says nothing yet
    assert stream.feed("It is") == "  It is"
    assert stream.feed(" sunny <tool") == " sunny "  # "<tool" may begin a call
    assert stream.feed("s are fun") == "<tools are fun"
    assert stream.feed(" <tool_call>{") == " "
    assert stream.feed('"name"') == ""  # from the marker on, everything is held
    assert stream.flush() == '<tool_call>{"name"'
    bare = ToolCallStream(HERMES)
    assert bare.feed("\n``") == "" and bare.feed("`json\n{") == ""  # may be a bare call
    assert bare.flush() == "\n```json\n{"


def _result(text: str) -> GenerationResult:
    return GenerationResult(text=text, model="m", finish_reason="stop")


def test_held_text_that_makes_no_call_is_sent_in_the_end() -> None:
    pieces = ["```", "python\n", "print(1)\n", "```"]
    events = [TokenChunk(p) for p in pieces] + [_result("".join(pieces))]
    out = list(with_tool_calls(iter(events), HERMES, NAMES))
    assert [e.text for e in out[:-1] if isinstance(e, TokenChunk)] == ["".join(pieces)]
    assert isinstance(out[-1], GenerationResult) and out[-1].finish_reason == "stop"

    call = '<tool_call>{"name": "add", "arguments": {"a": 1}}</tool_call>'
    events = [TokenChunk("Sure. "), TokenChunk(call), _result("Sure. " + call)]
    out = list(with_tool_calls(iter(events), HERMES, NAMES))
    assert [e.text for e in out if isinstance(e, TokenChunk)] == ["Sure. "]
    result = out[-1]
    assert isinstance(result, GenerationResult)
    assert (result.text, result.finish_reason) == ("Sure.", "tool_calls")
    assert [c.name for c in result.tool_calls] == ["add"]


def test_templates_name_their_syntax() -> None:
    assert tool_syntax("{% if tools %}<tool_call>{% endif %}") is HERMES
    assert tool_syntax("{% if tools %}[AVAILABLE_TOOLS][TOOL_CALLS]{% endif %}") is MISTRAL
    assert tool_syntax("<|im_start|>{{ message.content }}") is None
    assert tool_syntax(None) is None


def test_a_forced_call_is_a_grammar_around_the_arguments() -> None:
    assert tool_grammar(ToolChoice(TOOLS), HERMES) is None  # auto: no grammar
    grammar = tool_grammar(ToolChoice(TOOLS, required=True, name="add"), HERMES)
    assert grammar is not None
    assert grammar.startswith('root ::= "<tool_call>\\n" tool-call "\\n</tool_call>"\n')
    assert "tool-call ::=" in grammar and grammar.count("root ::=") == 1
    assert '\\"add\\"' in grammar and "get_weather" not in grammar
    with pytest.raises(BadRequest, match="does not offer"):
        tool_grammar(ToolChoice(TOOLS, required=True, name="nope"), HERMES)
