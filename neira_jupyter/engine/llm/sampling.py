"""Per-sequence sampling for the batch loop: llama.cpp sampler chains and stop-string text.

``make_sampler`` builds the same chain ``llama_cpp.Llama`` builds for
``create_completion`` (repetition penalties, then greedy at temperature 0,
else top-k, typical, top-p, min-p, temperature and a seeded draw), from the
settings the chat handler chose, plus a logit bias that bans tokens (the
benchmark's ``ignore_eos``) and, first in the chain, a grammar (GBNF) that
only lets through tokens the grammar allows (structured output).
``TextStream`` turns token bytes into text the way a stream must: whole
UTF-8 characters, and nothing that might be the start of a stop string
until it is clear that it is not, and, with a ``StopRule`` (``code_stops.CodeStop``),
only the part of the text that rule lets through. ``score_token`` reads a
sampled token's log probability and the likeliest alternatives (``logprobs``).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..types import TokenLogprob
from .code_stops import Scan
from .grammar import GrammarRefused

__all__ = ["StopRule", "TextStream", "make_sampler", "score_token"]

PENALTY_LAST_N = 64  # llama_cpp.Llama's default last_n_tokens_size


def make_sampler(
    n_vocab: int,
    ban: Sequence[int] = (),
    *,
    bias: Sequence[tuple[int, float]] = (),
    temperature: float = 0.8,
    top_p: float = 0.95,
    top_k: int = 40,
    min_p: float = 0.05,
    typical_p: float = 1.0,
    repeat_penalty: float = 1.0,
    frequency_penalty: float = 0.0,
    presence_penalty: float = 0.0,
    seed: int | None = None,
    grammar: tuple[Any, str] | None = None,
) -> Any:
    """A new ``llama_sampler`` chain; the caller frees it with ``llama_sampler_free``.

    ``bias`` adds to the logits of the given token ids (after ``ban``'s bans).
    ``grammar`` is ``(vocab, GBNF text)``; a grammar llama.cpp cannot parse
    raises ``GrammarRefused`` (and nothing is left to free).
    """
    import llama_cpp as ll

    constrain = None
    if grammar is not None:
        vocab, text = grammar
        constrain = ll.llama_sampler_init_grammar(vocab, text.encode("utf-8"), b"root")
        if not constrain:
            raise GrammarRefused("llama.cpp could not parse the grammar")
    chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())

    def add(sampler: Any) -> None:
        ll.llama_sampler_chain_add(chain, sampler)

    if constrain is not None:
        add(constrain)

    shifts = [(token, float("-inf")) for token in ban] + list(bias)
    if shifts:
        biases = (ll.llama_logit_bias * len(shifts))()
        for i, (token, shift) in enumerate(shifts):
            biases[i].token = token  # type: ignore[assignment]
            biases[i].bias = shift
        add(ll.llama_sampler_init_logit_bias(n_vocab, len(shifts), biases))
    add(
        ll.llama_sampler_init_penalties(
            n_vocab, PENALTY_LAST_N, repeat_penalty, frequency_penalty, presence_penalty
        )
    )
    draw_seed = ll.LLAMA_DEFAULT_SEED if seed is None else seed
    if temperature < 0.0:
        add(ll.llama_sampler_init_dist(draw_seed))
    elif temperature == 0.0:
        add(ll.llama_sampler_init_greedy())
    else:
        add(ll.llama_sampler_init_top_k(top_k))
        add(ll.llama_sampler_init_typical(typical_p, 1))
        add(ll.llama_sampler_init_top_p(top_p, 1))
        add(ll.llama_sampler_init_min_p(min_p, 1))
        add(ll.llama_sampler_init_temp(temperature))
        add(ll.llama_sampler_init_dist(draw_seed))
    return chain


class StopRule(Protocol):
    """Where a text must end, read from all of it (``code_stops.CodeStop``)."""

    def scan(self, text: str) -> Scan: ...

    def final(self, text: str, start: int = 0) -> int: ...


class TextStream:
    """Token bytes in, safe-to-show text out; ``stopped`` once a stop string appeared.

    Text that could be the beginning of a stop string is held back; the stop
    string itself and anything after it are never returned. A ``rule`` may end
    the text too, hold back more of its tail, skip its beginning (``Scan.start``)
    and trim its end (``StopRule.final``).
    """

    def __init__(self, stops: Sequence[str] = (), rule: StopRule | None = None) -> None:
        self._stops = [s for s in stops if s]
        self._rule = rule
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._text = ""
        self._sent = 0
        self._start = 0
        self.stopped = False

    def feed(self, data: bytes) -> str:
        """Add one token's bytes; return the text that may be shown now."""
        if self.stopped:
            return ""
        self._text += self._decoder.decode(data)
        hits = [i for i in (self._text.find(s, self._sent) for s in self._stops) if i >= 0]
        if hits:
            self.stopped = True
            self._text = self._text[: min(hits)]
        held = 0 if self.stopped else self._held()
        if self._rule is not None:
            scan = self._rule.scan(self._text)
            self._start = scan.start
            if scan.stop is not None:
                self.stopped = True
                self._text = self._text[: scan.stop]
            held = max(held, scan.hold)
        if self.stopped:
            return self._take(self._end())
        return self._take(len(self._text) - held)

    def flush(self) -> str:
        """The rest of the text at the end of the generation (nothing after a stop)."""
        if not self.stopped:
            self._text += self._decoder.decode(b"", final=True)
            if self._rule is not None:
                scan = self._rule.scan(self._text)
                self._start = scan.start
                if scan.stop is not None:
                    self._text = self._text[: scan.stop]
        return self._take(self._end())

    def _end(self) -> int:
        """Where the whole text ends: all of it, or where the rule trims it."""
        if self._rule is None:
            return len(self._text)
        return self._rule.final(self._text, self._start)

    def _held(self) -> int:
        """Length of the longest tail of the text that starts some stop string."""
        tail = self._text[self._sent :]
        best = 0
        for stop in self._stops:
            for k in range(min(len(stop) - 1, len(tail)), best, -1):
                if tail.endswith(stop[:k]):
                    best = k
                    break
        return best

    def _take(self, end: int) -> str:
        begin = max(self._sent, self._start)
        out = self._text[begin:end]
        self._sent = max(begin, end)
        return out


def score_token(
    row: Any, n_vocab: int, token: int, top: int, piece: Callable[[int], bytes]
) -> TokenLogprob:
    """``token``'s log probability in one logits ``row`` (llama.cpp's, ``n_vocab`` floats)
    and the ``top`` likeliest tokens with theirs; ``piece`` gives a token's bytes."""
    import numpy as np

    logits = np.ctypeslib.as_array(row, shape=(n_vocab,)).astype(np.float64)
    peak = logits.max()
    logprobs = logits - (peak + np.log(np.exp(logits - peak).sum()))

    def entry(t: int) -> tuple[str, float, tuple[int, ...]]:
        data = piece(t)
        return data.decode("utf-8", "replace"), float(logprobs[t]), tuple(data)

    best = np.argpartition(-logprobs, top)[:top] if top else np.array([], dtype=int)
    ranked = sorted(best.tolist(), key=lambda t: -logprobs[t])
    text, logprob, data = entry(token)
    return TokenLogprob(text, logprob, data, tuple(entry(t) for t in ranked))
