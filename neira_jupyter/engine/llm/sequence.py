"""One sequence of the batch loop: the request handed in, its last event, its slot's state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..types import CancelToken, FinishReason, Latency, TokenLogprob
from .sampling import StopRule, TextStream

__all__ = ["Finished", "SeqRequest", "Slot", "common_prefix"]


@dataclass
class Finished:
    """The last event of a request: why it ended, exact counts, ``perf_counter`` marks.

    ``prompt_span`` is when the evaluation of the prompt began (the step that
    took its first uncached token) and ended (that step's decode returned); None
    when the request never reached a step. ``prompt_reused``: prompt tokens found
    in the cache.
    """

    finish: FinishReason
    prompt_tokens: int
    completion_tokens: int
    first_token_at: float | None
    ended: float
    error: BaseException | None = None
    prompt_span: tuple[float, float] | None = None
    prompt_reused: int = 0


@dataclass
class SeqRequest:
    """One generation handed to the loop: prompt tokens and sampling settings.

    ``send`` is called on the loop's thread with each text piece (``str``) and,
    last, one ``Finished``; it must return promptly (it hands the event on).
    ``sampling`` holds the sampler settings (``make_sampler``'s keywords);
    ``grammar`` (GBNF) constrains what the sequence may say. With ``logprobs``
    (how many alternatives), ``scored`` gets each token's ``TokenLogprob``
    before its text is sent. ``rule`` ends the text where code ends
    (``code_stops.CodeStop``); a request of a lower ``latency`` class (a
    completion, then a dictation's segment correction) is admitted and its
    prompt read before the others waiting.
    """

    tokens: list[int]
    sampling: dict[str, Any]
    max_tokens: int
    send: Callable[[str | Finished], None]
    stops: tuple[str, ...] = ()
    cancel: CancelToken | None = None
    grammar: str | None = None
    logprobs: int | None = None
    scored: list[TokenLogprob] = field(default_factory=list)
    rule: StopRule | None = None
    latency: Latency = Latency.NORMAL
    abandoned: bool = False  # the reader went away

    @property
    def dropped(self) -> bool:
        return self.abandoned or (self.cancel is not None and self.cancel.cancelled)


class Slot:
    """A running sequence: its KV-cache sequence id, sampler and progress.

    ``kv`` lists the tokens in the sequence's cells, position by position: the
    reused prefix, then every token decoded since.
    """

    def __init__(self, seq_id: int, req: SeqRequest, sampler: Any, kv: list[int]) -> None:
        self.seq_id = seq_id
        self.req = req
        self.sampler = sampler
        self.kv = kv
        self.fed = len(kv)  # prompt tokens already in the cache
        self.reused = len(kv)
        self.last_token = -1
        self.completion = 0
        self.first_token_at: float | None = None
        self.prompt_began: float | None = None  # the step that took its first prompt token
        self.prompt_done: float | None = None  # ... and the end of the one that took its last
        self.output: int | None = None  # this step's logits row
        self.text = TextStream(req.stops, req.rule)

    @property
    def n_past(self) -> int:
        """Positions filled in the KV cache."""
        return len(self.kv)

    @property
    def prefilled(self) -> bool:
        return self.fed >= len(self.req.tokens)

    def finished(self, finish: FinishReason, ended: float, error: BaseException | None) -> Finished:
        """The request's last event."""
        span = None
        if self.prompt_began is not None and self.prompt_done is not None:
            span = (self.prompt_began, self.prompt_done)
        return Finished(
            finish,
            len(self.req.tokens),
            self.completion,
            self.first_token_at,
            ended,
            error,
            span,
            self.reused,
        )


def common_prefix(a: list[int], b: list[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
