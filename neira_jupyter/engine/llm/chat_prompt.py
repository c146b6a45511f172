"""A chat request made ready to decode, and the one mapping of the request's faults.

``ChatFormatter`` holds a ``llama_cpp.Llama`` on the model's weights that is
used for what it does well: tokenizing, and formatting chats with the GGUF's
own template (or the configured ``chat_format``). Its chat handler is run up
to the point where it would start a completion, and the prompt tokens, stop
strings and sampling settings it chose are taken from there (``ChatPrompt``),
with the grammar (GBNF) of a JSON schema or a forced tool call and the
tool-call syntax to read the answer with.

``request_error`` is the one place that decides which failures the request
caused (``BadRequest``, a 400 that never counts against the model): a message
sequence the chat template refuses, text the tokenizer cannot encode, a prompt
longer than a sequence's context, a grammar llama.cpp cannot parse.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..types import BadRequest, ChatMessage, EngineError, GenerationOptions
from .grammar import GrammarRefused, json_grammar
from .runtime import import_llama
from .sampling import StopRule
from .tools import ToolSyntax, tool_grammar, tool_syntax

__all__ = ["ChatFormatter", "ChatPrompt", "check_logit_bias", "request_error"]

# create_completion settings the chat handler passes that the sampler uses
_SAMPLING_KEYS = (
    "top_k",
    "min_p",
    "typical_p",
    "repeat_penalty",
    "frequency_penalty",
    "presence_penalty",
)


def request_error(exc: BaseException) -> BadRequest | None:
    """The caller's error (400) behind an exception from preparing or decoding a
    generation, or None when the model is at fault."""
    if isinstance(exc, BadRequest):
        return exc
    if isinstance(exc, UnicodeError):
        return BadRequest(f"the prompt is not valid Unicode text: {exc}")
    if isinstance(exc, GrammarRefused):
        return BadRequest(f"structured output: {exc}")
    try:
        from jinja2 import TemplateError
    except ImportError:  # pragma: no cover - jinja2 comes with llama-cpp-python
        return None
    if isinstance(exc, TemplateError):
        return BadRequest(f"the model's chat template refuses these messages: {exc}")
    return None


def check_logit_bias(
    bias: Sequence[tuple[int, float]], n_vocab: int
) -> tuple[tuple[int, float], ...]:
    """``bias`` if every token id is in the vocabulary, else ``BadRequest`` naming the first."""
    for token, _shift in bias:
        if not 0 <= token < n_vocab:
            raise BadRequest(
                f"field 'logit_bias' names token {token}; this model's token ids are "
                f"0..{n_vocab - 1}"
            )
    return tuple(bias)


@dataclass(frozen=True)
class ChatPrompt:
    """What the batch loop decodes for one request: prompt tokens, stop strings,
    sampler settings (``make_sampler``'s keywords), the grammar (GBNF) if any, and
    the tool-call syntax to read the answer with when tools are offered; ``rule``
    ends a code completion where its code ends (``code_stops.CodeStop``)."""

    tokens: list[int]
    stops: tuple[str, ...]
    sampling: dict[str, Any]
    grammar: str | None = None
    syntax: ToolSyntax | None = None
    rule: StopRule | None = None


class _PromptReady(Exception):
    """Carries what the chat handler would have passed to ``create_completion``."""

    def __init__(self, prompt: Any, settings: dict[str, Any]) -> None:
        super().__init__("prompt ready")
        self.prompt = prompt
        self.settings = settings


@functools.cache
def formatting_llama_class() -> type:
    """A ``Llama`` whose ``create_completion`` hands back the prompt instead of decoding."""

    class FormattingLlama(import_llama()):  # type: ignore[misc]
        def create_completion(self, prompt: Any, **settings: Any) -> Any:
            raise _PromptReady(prompt, settings)

    return FormattingLlama


class ChatFormatter:
    """Turns chat requests into ``ChatPrompt``s for sequences of ``n_ctx`` tokens.

    ``llama`` is a ``formatting_llama_class()`` instance; it never decodes, so any
    thread may call ``prepare``.
    """

    def __init__(self, name: str, llama: Any, n_ctx: int) -> None:
        self.name = name
        self.llama = llama
        self.n_ctx = n_ctx

    @property
    def n_vocab(self) -> int:
        return int(self.llama.n_vocab())

    def prepare(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> ChatPrompt:
        """The request as the loop decodes it; ``BadRequest`` for what it got wrong."""
        syntax, tools, grammar = self.offered_tools(options)
        tokens, settings = self._format(messages, options, tools)
        if len(tokens) >= self.n_ctx:
            raise BadRequest(
                f"the prompt ({len(tokens)} tokens) does not fit in the model's context "
                f"of {self.n_ctx} tokens"
            )
        stop = settings.get("stop") or []
        stops = (stop,) if isinstance(stop, str) else tuple(stop)
        return ChatPrompt(tokens, stops, self.sampling(options, settings), grammar, syntax)

    def sampling(
        self, options: GenerationOptions, settings: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The sampler settings of a request: those the chat handler chose (``settings``),
        then the request's own."""
        chosen = settings or {}
        sampling = {k: chosen[k] for k in _SAMPLING_KEYS if k in chosen}
        sampling.update(
            temperature=options.temperature,
            top_p=options.top_p,
            seed=options.seed,
            presence_penalty=options.presence_penalty,
            frequency_penalty=options.frequency_penalty,
            bias=check_logit_bias(options.logit_bias, self.n_vocab),
        )
        return sampling

    def offered_tools(
        self, options: GenerationOptions
    ) -> tuple[ToolSyntax | None, list[dict[str, Any]] | None, str | None]:
        """The tool-call syntax, the tools for the chat template and the grammar (GBNF) a
        generation with ``options`` uses: the forced call's, else the JSON schema's, else None.
        ``BadRequest`` when tools are offered to a model whose template has no tool calls."""
        grammar = json_grammar(options.json_schema) if options.json_schema is not None else None
        if options.tools is None:
            return None, None, grammar
        llama = self.llama
        template = llama.metadata.get("tokenizer.chat_template")
        syntax = tool_syntax(template if llama.chat_format == "chat_template.default" else None)
        if syntax is None:
            raise BadRequest(
                f"field 'tools': the model {self.name!r} cannot call tools "
                "(its chat template defines no tool calls)"
            )
        forced = tool_grammar(options.tools, syntax)
        return syntax, options.tools.offered, forced or grammar

    def _format(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        tools: list[dict[str, Any]] | None,
    ) -> tuple[list[int], dict[str, Any]]:
        """Prompt tokens and the settings the chat handler chose (with ``tools``, the
        functions offered, written in by the chat template)."""
        try:
            try:
                self.llama.create_chat_completion(
                    messages=[m.to_dict() for m in messages],
                    temperature=options.temperature,
                    top_p=options.top_p,
                    stop=list(options.stop) or None,
                    seed=options.seed,
                    max_tokens=options.max_tokens,
                    tools=tools,
                )
            except _PromptReady as ready:
                prompt, settings = ready.prompt, ready.settings
            else:  # pragma: no cover - a handler that decodes by other means
                raise EngineError(f"the chat format of {self.name!r} cannot be batched")
            if isinstance(prompt, str | bytes):
                raw = prompt.encode("utf-8") if isinstance(prompt, str) else prompt
                prompt = self.llama.tokenize(raw, add_bos=True, special=True)
        except EngineError:
            raise
        except Exception as exc:  # nothing was decoded: the messages are at fault
            error = request_error(exc) or BadRequest(
                f"the model's chat template refuses these messages: {exc}"
            )
            raise error from exc
        return list(prompt), settings
