"""One resident GGUF model through llama-cpp-python: load, stream tokens, cancel, close.

``LlamaModel`` owns one ``llama_cpp.Llama``. The object is not thread-safe, so
exactly one worker thread (see ``schedule``) may call ``generate`` at a time;
``load`` and ``close`` are called by the same owner.

Usage and timings are exact: a thin ``Llama`` subclass wraps the low-level
token generator, so prompt tokens, completion tokens and the moment of the
first sampled token are counted where llama.cpp produces them, not guessed
from the text chunks (which llama-cpp-python may merge while it holds back a
possible stop sequence or an incomplete UTF-8 character).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..resident import ResidentModel
from ..types import (
    BadRequest,
    CancelToken,
    ChatMessage,
    EngineError,
    FinishReason,
    GenerationOptions,
    GenerationResult,
    ModelState,
    Timings,
    Usage,
)
from .base import TokenChunk
from .grammar import GrammarRefused, json_grammar
from .tools import ToolSyntax, tool_grammar, tool_syntax, with_tool_calls

if TYPE_CHECKING:
    from llama_cpp import Llama

__all__ = ["LLMSpec", "LlamaModel", "llama_supports_gpu"]

# Benchmarks only: with NEIRA_BENCH_IGNORE_EOS=1 in the server's environment the
# end-of-generation tokens are never sampled, so every request runs to max_tokens.
IGNORE_EOS_ENV = "NEIRA_BENCH_IGNORE_EOS"


@dataclass(frozen=True)
class LLMSpec:
    """How to load one GGUF model.

    ``n_gpu_layers`` is passed to llama.cpp as is (-1: all layers); it only has
    an effect when llama-cpp-python was built with CUDA (or another GPU backend).
    ``chat_format`` of ``None`` uses the chat template in the GGUF metadata.
    ``slots`` above 1 serves that many sequences at once (``BatchedLlamaModel``,
    each with its own context of ``n_ctx`` tokens); 1 is the single-sequence
    ``LlamaModel``.
    """

    name: str
    path: Path
    n_ctx: int = 2048
    n_gpu_layers: int = 0
    chat_format: str | None = None
    n_threads: int | None = None
    slots: int = 1


def llama_supports_gpu() -> bool:
    """Whether the installed llama-cpp-python was built with a GPU backend."""
    try:
        import llama_cpp
    except ImportError:
        return False
    return bool(llama_cpp.llama_supports_gpu_offload())


def default_threads() -> int:
    """llama.cpp threads when the spec names none: every core."""
    return max(1, os.cpu_count() or 1)


def import_llama() -> type[Llama]:
    """``llama_cpp.Llama``, or an ``EngineError`` that says how to install it."""
    try:
        from llama_cpp import Llama as LlamaClass
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EngineError(
            "llama-cpp-python is not installed; install it with the portable build "
            "flags from the README (pip install 'neira-jupyter[llm]')"
        ) from exc
    return LlamaClass


def end_of_generation_tokens(vocab: Any, n_vocab: int) -> list[int]:
    """Every token id llama.cpp treats as the end of a generation (EOS, EOT, ...)."""
    import llama_cpp

    return [t for t in range(n_vocab) if llama_cpp.llama_vocab_is_eog(vocab, t)]


def ignore_eos() -> bool:
    """Whether the benchmark switch ``NEIRA_BENCH_IGNORE_EOS=1`` is set."""
    return os.environ.get(IGNORE_EOS_ENV) == "1"


def generation_result(
    model: str,
    text: str,
    finish: FinishReason,
    counts: tuple[int, int],
    started: float,
    first: float | None,
    ended: float,
    prompt_span: tuple[float, float] | None = None,
) -> GenerationResult:
    """A result with exact ``(prompt, completion)`` counts and timings from ``perf_counter`` marks.

    ``tokens_per_second`` is the decode rate after the first token; ``prompt_span``
    (when known) is when the prompt's evaluation began and ended: its length is
    ``prompt_ms``, which the first-token budget does not count (``Timings.start_ms``).
    """
    prompt, completion = counts
    decode_s = ended - first if first is not None else 0.0
    return GenerationResult(
        text=text,
        model=model,
        finish_reason=finish,
        usage=Usage(prompt_tokens=prompt, completion_tokens=completion),
        timings=Timings(
            first_token_ms=(first - started) * 1000 if first is not None else None,
            prompt_ms=(prompt_span[1] - prompt_span[0]) * 1000 if prompt_span else None,
            total_ms=(ended - started) * 1000,
            tokens_per_second=(completion - 1) / decode_s
            if completion > 1 and decode_s > 0
            else None,
        ),
    )


@functools.cache
def _counting_llama_class() -> type:
    """Build (once) a ``Llama`` subclass that counts tokens at the source."""

    class CountingLlama(import_llama()):  # type: ignore[misc]
        """``Llama`` that records prompt/completion token counts and first-token time."""

        prompt_tokens: int = 0
        completion_tokens: int = 0
        first_token_at: float | None = None
        prompt_evaluated_at: float | None = None

        def eval(self, tokens: Sequence[int]) -> None:
            super().eval(tokens)
            if self.prompt_evaluated_at is None:  # the first eval of a generation: the prompt
                self.prompt_evaluated_at = time.perf_counter()

        def generate(self, tokens: Sequence[int], *args: Any, **kwargs: Any) -> Iterator[int]:
            self.prompt_tokens = len(tokens)
            self.completion_tokens = 0
            self.first_token_at = None
            self.prompt_evaluated_at = None
            for token in super().generate(tokens, *args, **kwargs):
                if self.first_token_at is None:
                    self.first_token_at = time.perf_counter()
                if not self._is_end_of_generation(token):
                    self.completion_tokens += 1
                yield token

        def _is_end_of_generation(self, token: int) -> bool:
            import llama_cpp

            return bool(llama_cpp.llama_vocab_is_eog(self._model.vocab, token))

    return CountingLlama


NO_LOGPROBS = (
    "field 'logprobs' is not supported by this backend: log probabilities are computed "
    "on the batched path only (NeiraApp.llm_slots > 1)"
)


NO_CHOICES = (
    "field 'n' is more than 1, which this backend does not sample: several choices "
    "are sampled on the batched path only (NeiraApp.llm_slots > 1)"
)


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


def request_error(exc: BaseException, n_ctx: int) -> BadRequest | None:
    """The caller's error (400) behind an exception from preparing a generation, or None.

    A prompt over the context, text the tokenizer cannot encode, a message
    sequence the chat template refuses and a grammar llama.cpp cannot parse
    are faults of the request, not of the model: they must not count against
    the model's health (``ModelRouter.release``).
    """
    if isinstance(exc, BadRequest):
        return exc
    if isinstance(exc, UnicodeError):
        return BadRequest(f"the prompt is not valid Unicode text: {exc}")
    if isinstance(exc, ValueError) and "context window" in str(exc):
        return BadRequest(
            f"the prompt does not fit in the model's context of {n_ctx} tokens: {exc}"
        )
    if isinstance(exc, GrammarRefused):
        return BadRequest(f"structured output: {exc}")
    try:
        from jinja2 import TemplateError
    except ImportError:  # pragma: no cover - jinja2 comes with llama-cpp-python
        return None
    if isinstance(exc, TemplateError):
        return BadRequest(f"the model's chat template refuses these messages: {exc}")
    return None


def _request_checked(start: Callable[[], Iterator[Any]], n_ctx: int) -> Generator[Any, None, None]:
    """Run ``start()`` and its stream, re-raising the request's faults as ``BadRequest``."""
    try:
        yield from start()
    except Exception as exc:
        error = request_error(exc, n_ctx)
        if error is None:
            raise
        raise error from exc


class LlamaModel(ResidentModel):
    """One resident GGUF model. Not thread-safe: one owner thread calls it."""

    kind = "llm"

    def __init__(self, spec: LLMSpec) -> None:
        super().__init__(spec.name, spec.path)
        self.spec = spec
        self._llama: Any = None
        self._logit_bias: dict[str, float] | None = None

    @property
    def device(self) -> str:
        return "cuda" if self.spec.n_gpu_layers != 0 and llama_supports_gpu() else "cpu"

    def describe(self) -> dict[str, Any]:
        """The model's part of the status document."""
        return {**super().describe(), "n_ctx": self.spec.n_ctx}

    def _load_detail(self) -> str:
        return f"{self.spec.path.name} on {self.device}"

    def _open(self) -> None:
        """Load the GGUF file."""
        self._require_weights()
        cls = _counting_llama_class()
        self._llama = cls(
            model_path=str(self.spec.path),
            n_ctx=self.spec.n_ctx,
            n_gpu_layers=self.spec.n_gpu_layers,
            chat_format=self.spec.chat_format,
            n_threads=self.spec.n_threads or default_threads(),
            verbose=False,
        )
        self._logit_bias = (
            {
                str(t): -1e9
                for t in end_of_generation_tokens(self._llama._model.vocab, self._llama.n_vocab())
            }
            if ignore_eos()
            else None
        )

    def _release(self) -> None:
        if self._llama is not None:
            self._llama.close()
            self._llama = None

    def count_tokens(self, text: str) -> int:
        """Number of tokens of ``text`` in this model's vocabulary."""
        self._require_ready()
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def generate(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken | None = None,
    ) -> Iterator[TokenChunk | GenerationResult]:
        """Stream a chat completion.

        Yields ``TokenChunk`` objects as text is produced and, last, one
        ``GenerationResult``. If ``cancel`` is set, decoding stops before the
        next token and the result has ``finish_reason == "cancelled"``.
        """
        self._require_ready()
        syntax, tools, rules = self.offered_tools(options)
        events = self._decode(messages, options, cancel, tools, rules)
        if syntax is None or options.tools is None:
            yield from events
        else:
            yield from with_tool_calls(events, syntax, options.tools.names)

    def offered_tools(
        self, options: GenerationOptions
    ) -> tuple[ToolSyntax | None, list[dict[str, Any]] | None, str | None]:
        """The tool-call syntax, the tools for the chat template and the grammar (GBNF) a
        generation with ``options`` uses: the forced call's, else the JSON schema's, else None.
        ``BadRequest`` when tools are offered to a model whose template has no tool calls."""
        grammar = json_grammar(options.json_schema) if options.json_schema is not None else None
        if options.tools is None:
            return None, None, grammar
        llama = self._llama
        template = llama.metadata.get("tokenizer.chat_template")
        syntax = tool_syntax(template if llama.chat_format == "chat_template.default" else None)
        if syntax is None:
            raise BadRequest(
                f"field 'tools': the model {self.name!r} cannot call tools "
                "(its chat template defines no tool calls)"
            )
        forced = tool_grammar(options.tools, syntax)
        return syntax, options.tools.offered, forced or grammar

    def _decode(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken | None,
        tools: list[dict[str, Any]] | None,
        rules: str | None,
    ) -> Iterator[TokenChunk | GenerationResult]:
        """One sequence's tokens (with the chat template's ``tools`` and the grammar
        ``rules``), then its result; one thread at a time."""
        if options.logprobs is not None:
            raise BadRequest(NO_LOGPROBS)
        if options.n > 1:
            raise BadRequest(NO_CHOICES)
        llama = self._llama
        started = time.perf_counter()
        pieces: list[str] = []
        finish: FinishReason = "stop"
        grammar = None
        if rules is not None:
            from llama_cpp import LlamaGrammar

            try:
                grammar = LlamaGrammar.from_string(rules, verbose=False)
            except ValueError as exc:
                raise BadRequest(f"structured output: {exc}") from exc
        bias = dict(self._logit_bias or {})
        for token, shift in check_logit_bias(options.logit_bias, llama.n_vocab()):
            bias[str(token)] = bias.get(str(token), 0.0) + shift
        stream = _request_checked(
            lambda: llama.create_chat_completion(
                messages=[m.to_dict() for m in messages],
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                top_p=options.top_p,
                stop=list(options.stop) or None,
                seed=options.seed,
                stream=True,
                logit_bias=bias or None,
                presence_penalty=options.presence_penalty,
                frequency_penalty=options.frequency_penalty,
                grammar=grammar,
                tools=tools,
            ),
            self.spec.n_ctx,
        )
        try:
            for chunk in stream:
                if cancel is not None and cancel.cancelled:
                    finish = "cancelled"
                    break
                choice = chunk["choices"][0]
                text = choice.get("delta", {}).get("content")
                if text:
                    pieces.append(text)
                    yield TokenChunk(text)
                if choice.get("finish_reason") == "length":
                    finish = "length"
        finally:
            stream.close()
        yield generation_result(
            self.name,
            "".join(pieces),
            finish,
            (llama.prompt_tokens, llama.completion_tokens),
            started,
            llama.first_token_at,
            time.perf_counter(),
            (started, llama.prompt_evaluated_at) if llama.prompt_evaluated_at else None,
        )

    def _require_ready(self) -> None:
        if self.state is not ModelState.READY or self._llama is None:
            raise EngineError(f"model {self.name!r} is {self.state.value}, not ready")
