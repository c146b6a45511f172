"""One generation on its way out of the batch loop: ``TokenChunk``s, then one result.

A ``BatchGeneration`` is the ``n`` sequences of one request (``GenerationOptions.n``,
choice i sampled with ``seed + i``). The batch loop calls it on the loop's
own thread with each sequence's text and end; it hands each chunk (less what
may be a tool call, ``ToolCallFilter``) to ``emit`` and, once every choice
has ended, the ``GenerationResult`` or the error to ``done``. Nothing is
queued in between: when ``emit`` is a job's ``call_soon_threadsafe``, a token
crosses threads once, from the loop to the event loop.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from ..types import (
    CancelToken,
    EngineError,
    FinishReason,
    GenerationOptions,
    GenerationResult,
    Timings,
    Usage,
)
from .base import TokenChunk
from .chat_prompt import ChatPrompt, request_error
from .sequence import Finished, SeqRequest
from .tools import ToolCallFilter

__all__ = ["BatchGeneration", "Done", "generation_result"]

Done = Callable[[GenerationResult | None, BaseException | None], None]


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


class BatchGeneration:
    """The sequences of one request, read back as one stream of events."""

    def __init__(
        self,
        model: str,
        prompt: ChatPrompt,
        options: GenerationOptions,
        cancel: CancelToken | None,
        started: float,
        emit: Callable[[TokenChunk], None],
        done: Done,
    ) -> None:
        self.model = model
        self.options = options
        self.started = started
        self._emit = emit
        self._done = done
        self._calls = None
        if prompt.syntax is not None and options.tools is not None:
            self._calls = ToolCallFilter(prompt.syntax, options.tools.names)
        seed = prompt.sampling.get("seed")
        self.requests = [
            SeqRequest(
                prompt.tokens,
                {**prompt.sampling, "seed": seed + index if seed is not None else None},
                options.max_tokens,
                functools.partial(self._receive, index),
                prompt.stops,
                cancel,
                grammar=prompt.grammar,
                logprobs=options.logprobs,
                rule=prompt.rule,
                latency=options.latency_class,
            )
            for index in range(options.n)
        ]
        self._pieces: list[list[str]] = [[] for _ in self.requests]
        self._scored = [0 for _ in self.requests]  # of each req.scored, given out so far
        self._finals: dict[int, Finished] = {}

    def abandon(self) -> None:
        """The reader went away: the loop drops the sequences still running."""
        for req in self.requests:
            req.abandoned = True

    def _receive(self, index: int, item: str | Finished) -> None:
        if isinstance(item, Finished):
            self._finals[index] = item
            if len(self._finals) == len(self.requests):
                self._end()
            return
        self._pieces[index].append(item)
        fresh = tuple(self.requests[index].scored[self._scored[index] :])  # before the text
        self._scored[index] += len(fresh)
        for event in self._filtered(TokenChunk(item, fresh, index)):
            assert isinstance(event, TokenChunk)
            self._emit(event)

    def _filtered(
        self, event: TokenChunk | GenerationResult
    ) -> list[TokenChunk | GenerationResult]:
        return self._calls.push(event) if self._calls is not None else [event]

    def _end(self) -> None:
        try:
            result = self._result()
        except BaseException as exc:
            self._done(None, exc)
            return
        *chunks, last = self._filtered(result)
        for chunk in chunks:
            assert isinstance(chunk, TokenChunk)
            self._emit(chunk)
        assert isinstance(last, GenerationResult)
        self._done(last, None)

    def _result(self) -> GenerationResult:
        """The first choice's result, the others in ``others``; raises the first error."""
        for final in self._finals.values():
            if final.error is not None:
                error = request_error(final.error)
                if error is not None:  # e.g. llama.cpp refused the grammar
                    raise error from final.error
                raise EngineError(f"generation failed: {final.error}") from final.error
        results = []
        for index, req in enumerate(self.requests):
            final = self._finals[index]
            result = generation_result(
                self.model,
                "".join(self._pieces[index]),
                final.finish,
                (final.prompt_tokens, final.completion_tokens),
                self.started,
                final.first_token_at,
                final.ended,
                final.prompt_span,
            )
            result.usage.prompt_tokens_reused = final.prompt_reused
            if self.options.logprobs is not None:
                result.logprobs = list(req.scored)
            results.append(result)
        first, others = results[0], results[1:]
        first.usage.completion_tokens = sum(r.usage.completion_tokens for r in results)
        first.others = others
        return first
