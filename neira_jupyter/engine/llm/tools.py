"""Tool calling: offering functions to a GGUF model and reading its calls back.

A model calls tools in the syntax its chat template teaches it. Two are
known: Hermes' (Qwen2.5, and the demo Qwen2.5-Coder), one
``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` block per
call, and Mistral's (v0.3 and later), ``[TOOL_CALLS] [{"name": ...,
"arguments": {...}}, ...]``. ``tool_syntax`` finds the one a template uses;
a model whose template has neither cannot be offered tools (``BadRequest``).

The offered functions go to the chat template (``tools``), which writes
them into the prompt as the model was trained to read them. What comes back
goes through a ``ToolCallFilter`` (``with_tool_calls`` over an iterator):
text streams as usual until a call's marker appears (a piece that may be
the start of one is held back, as a stop string is), the rest is held, and
at the end the calls are parsed into ``GenerationResult.tool_calls``
(``finish_reason`` ``tool_calls``).
Held text that turns out not to be a valid call is sent on as text, so
nothing is lost. ``tool_choice`` ``required`` or a named function adds a
grammar (``tool_grammar``): the answer is then always one well-formed call
whose arguments follow the function's JSON Schema.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from ..types import BadRequest, GenerationResult, ToolCall, ToolChoice
from .base import TokenChunk
from .grammar import json_grammar

__all__ = [
    "ToolCallFilter",
    "ToolCallStream",
    "ToolSyntax",
    "tool_grammar",
    "tool_syntax",
    "with_tool_calls",
]

Parse = Callable[[str, Collection[str]], "tuple[str, list[ToolCall]] | None"]


def call_id() -> str:
    """A new call id: nine letters and digits (Mistral's templates require exactly that)."""
    return uuid.uuid4().hex[:9]


def _call(item: Any, names: Collection[str]) -> ToolCall | None:
    """A ``{"name": ..., "arguments": ...}`` object calling an offered function, or None."""
    if not isinstance(item, dict) or item.get("name") not in names:
        return None
    arguments = item.get("arguments", item.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    if not isinstance(arguments, dict):
        return None
    return ToolCall(call_id(), item["name"], json.dumps(arguments, ensure_ascii=False))


def _calls(items: list[Any], names: Collection[str]) -> list[ToolCall] | None:
    calls = [_call(item, names) for item in items]
    if not calls or any(c is None for c in calls):
        return None
    return [c for c in calls if c is not None]


_HERMES_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|\Z)", re.DOTALL)
_BARE_CALL = re.compile(r"\A\s*(?:```(?:json)?\s*)?(\{.*\})\s*(?:```)?\s*\Z", re.DOTALL)


def _parse_hermes(text: str, names: Collection[str]) -> tuple[str, list[ToolCall]] | None:
    at = text.find("<tool_call>")
    try:
        if at < 0:  # small models write the call bare, or in a json code block
            bare = _BARE_CALL.match(text)
            calls = _calls([json.loads(bare.group(1))], names) if bare else None
            return ("", calls) if calls else None
        items = [json.loads(block.group(1)) for block in _HERMES_BLOCK.finditer(text, at)]
    except ValueError:
        return None
    calls = _calls(items, names)
    return (text[:at].strip(), calls) if calls else None


def _parse_mistral(text: str, names: Collection[str]) -> tuple[str, list[ToolCall]] | None:
    at = text.find("[TOOL_CALLS]")
    if at < 0:
        return None
    rest = text[at + len("[TOOL_CALLS]") :].lstrip()
    try:
        items, _end = json.JSONDecoder().raw_decode(rest)
    except ValueError:
        return None
    calls = _calls(items if isinstance(items, list) else [items], names)
    return (text[:at].strip(), calls) if calls else None


@dataclass(frozen=True)
class ToolSyntax:
    """How one family of chat templates writes a tool call.

    ``marker`` begins a call anywhere in the model's text; an answer that
    begins with one of ``leading`` (after white space) may be a call too, so it is
    held until it ends. ``opening`` and ``closing`` (GBNF string literals)
    surround the forced call of ``tool_grammar``.
    """

    name: str
    marker: str
    leading: tuple[str, ...]
    opening: str
    closing: str
    parse: Parse

    def calls(self, text: str, names: Collection[str]) -> tuple[str, list[ToolCall]] | None:
        """The text before the calls and the calls, or None when ``text`` makes no valid call
        of the functions ``names``."""
        return self.parse(text, names)


HERMES = ToolSyntax(
    "hermes", "<tool_call>", ("{", "```"), r'"<tool_call>\n"', r'"\n</tool_call>"', _parse_hermes
)
MISTRAL = ToolSyntax("mistral", "[TOOL_CALLS]", (), r'"[TOOL_CALLS] ["', r'"]"', _parse_mistral)


def tool_syntax(template: str | None) -> ToolSyntax | None:
    """The tool-call syntax a chat template teaches, or None when it teaches none."""
    if not template or "tools" not in template:
        return None
    for syntax in (HERMES, MISTRAL):
        if syntax.marker in template:
            return syntax
    return None


def tool_grammar(choice: ToolChoice, syntax: ToolSyntax) -> str | None:
    """The GBNF of one call, when ``choice`` forces one (``required`` or a name); else None."""
    if not choice.required and choice.name is None:
        return None
    functions = [f for f in choice.functions if choice.name in (None, f["name"])]
    if not functions:
        raise BadRequest(f"field 'tool_choice' names {choice.name!r}, which 'tools' does not offer")
    shapes = [
        {
            "type": "object",
            "properties": {
                "name": {"const": f["name"]},
                "arguments": f.get("parameters") or {"type": "object"},
            },
            "required": ["name", "arguments"],
        }
        for f in functions
    ]
    schema = shapes[0] if len(shapes) == 1 else {"anyOf": shapes}
    body = json_grammar(json.dumps(schema), "tools[].function.parameters")
    body = re.sub(r"^root ::=", "tool-call ::=", body, count=1, flags=re.MULTILINE)
    return f"root ::= {syntax.opening} tool-call {syntax.closing}\n{body}"


class ToolCallStream:
    """One choice's text on its way out: held back from where a call may begin."""

    def __init__(self, syntax: ToolSyntax) -> None:
        self.syntax = syntax
        self.held = ""
        self.calling = False
        self.started = False  # text other than white space went out

    def feed(self, text: str) -> str:
        """The part of ``text`` (and of what was held) that is surely not a call."""
        self.held += text
        if self.calling:
            return ""
        if not self.started:
            head = self.held.lstrip()
            if not head:
                return ""
            if any(head.startswith(m) or m.startswith(head) for m in self.syntax.leading):
                if any(head.startswith(m) for m in self.syntax.leading):
                    self.calling = True  # held to the end: a bare call, or text after all
                return ""
            self.started = True
        marker = self.syntax.marker
        at = self.held.find(marker)
        if at >= 0:
            self.calling = True
            out, self.held = self.held[:at], self.held[at:]
            return out
        keep = next(
            (n for n in range(min(len(marker) - 1, len(self.held)), 0, -1)
             if marker.startswith(self.held[-n:])),
            0,
        )  # fmt: skip
        out, self.held = self.held[: len(self.held) - keep], self.held[len(self.held) - keep :]
        return out

    def flush(self) -> str:
        """Everything held (the answer made no call after all)."""
        out, self.held = self.held, ""
        return out


class ToolCallFilter:
    """A generation's events with the calls of the functions ``names`` taken out of the
    text and put into the result: ``push`` takes one event and gives those to pass on."""

    def __init__(self, syntax: ToolSyntax, names: Collection[str]) -> None:
        self.syntax = syntax
        self.names = names
        self._streams: dict[int, ToolCallStream] = {}

    def push(self, event: TokenChunk | GenerationResult) -> list[TokenChunk | GenerationResult]:
        """The events to send for ``event``: its text less what may be a call; at the end,
        text held that made no call, then the result with the calls."""
        if isinstance(event, TokenChunk):
            stream = self._streams.setdefault(event.index, ToolCallStream(self.syntax))
            text = stream.feed(event.text)
            return [TokenChunk(text, event.logprobs, event.index)] if text else []
        out: list[TokenChunk | GenerationResult] = []
        for index, result in enumerate([event, *event.others]):
            found = self.syntax.calls(result.text, self.names)
            if found is not None:
                result.text, result.tool_calls = found
                if result.finish_reason != "cancelled":
                    result.finish_reason = "tool_calls"
            elif index in self._streams and (rest := self._streams[index].flush()):
                out.append(TokenChunk(rest, (), index))
        out.append(event)
        return out


def with_tool_calls(
    events: Iterator[TokenChunk | GenerationResult], syntax: ToolSyntax, names: Collection[str]
) -> Iterator[TokenChunk | GenerationResult]:
    """A model's events through a ``ToolCallFilter``."""
    calls = ToolCallFilter(syntax, names)
    for event in events:
        yield from calls.push(event)
