"""The continuous-batching loop: one llama.cpp context, N sequence slots, one thread.

``BatchLoop`` owns a ``llama_context`` created with ``n_seq_max = slots``. Its
thread alone calls llama.cpp. Requests (``SeqRequest``) wait in a FIFO until a
slot is free; every step then builds one ``llama_batch`` with

* one token for every sequence that is generating (each at its own position,
  in its own sequence id, logits requested), and
* a chunk of the prompts still being read (logits only for a prompt's last
  token): at most ``prefill_chunk[0]`` tokens while any sequence is
  generating, so a long new prompt does not freeze everyone's stream, and up
  to ``prefill_chunk[1]`` when none is (bigger batches evaluate faster),

calls ``llama_decode`` once and samples the next token of every sequence with
its own sampler chain. Text goes to each request's ``send`` as it is
produced (stop strings held back until they can no longer match, UTF-8
characters whole), on this thread, with no queue in between. A finished,
cancelled or abandoned sequence frees its slot for the next request at the
next step. Each request's ``Finished`` says when its prompt's evaluation
began and ended, so the first-token budget can leave that time out.

Latency classes (``SeqRequest.latency``: completions and stopped dictations'
corrections, then live segment corrections, then the rest) wait for a slot
in class order, and a lower class's prompts take a step's prefill budget first.

Prompt prefixes are reused, as ``llama_cpp.Llama`` reuses its last prompt: a
free slot keeps the tokens its last sequence left in the KV cache, a new
request goes to the free slot sharing the longest prefix with its prompt, and
only the rest is removed (``llama_memory_seq_rm`` from the first difference)
and evaluated. When another sequence, running or kept, holds a longer prefix
of the prompt, the new sequence shares those cells instead
(``llama_memory_seq_cp`` in the unified cache tags them with both ids), so
eight corrections that arrive together read the correction prompt's worked
examples once, not eight times. The same system prompt, few-shot examples
or chat history is therefore not evaluated again. Each slot's cells stay
within its ``n_ctx``, so the kept tokens always fit in the shared cache.
A free slot's cells that a new prompt would cut are parked first
(``prompt_cache.PromptCache``, within its own token budget), so with more
users than slots each still finds their own prompt.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from ..types import EngineError, FinishReason, TokenLogprob
from .grammar import GrammarRefused
from .prompt_cache import PromptCache
from .sampling import make_sampler, score_token
from .sequence import Finished, SeqRequest, Slot, common_prefix

log = logging.getLogger("neira_jupyter")

__all__ = ["BatchLoop"]

RATE_WINDOW_S = 60.0


class BatchLoop:
    """The thread that decodes every running sequence of one context, step by step."""

    def __init__(
        self,
        model: Any,
        ctx: Any,
        slots: int,
        slot_ctx: int,
        prefill_chunk: tuple[int, int],
        ban_tokens: Sequence[int] = (),
        cache_tokens: int = 0,
    ) -> None:
        import llama_cpp

        self._ll = llama_cpp
        self._ctx = ctx
        self._memory = llama_cpp.llama_get_memory(ctx)
        self._vocab = llama_cpp.llama_model_get_vocab(model)
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
        self.slots = slots
        self.slot_ctx = slot_ctx
        self.prefill_chunk = prefill_chunk
        self._ban = list(ban_tokens)
        shared, alone = prefill_chunk  # the most tokens one step can hold:
        self._batch = llama_cpp.llama_batch_init(max(alone, shared + slots), 0, 1)
        self._cond = threading.Condition()
        self._waiting: deque[SeqRequest] = deque()
        self._free = list(range(slots))
        self._kept: dict[int, list[int]] = {seq: [] for seq in range(slots)}  # free slots' cells
        self._running: dict[int, Slot] = {}
        self._cache = PromptCache(llama_cpp, self._memory, slots, cache_tokens)
        self._rate: deque[tuple[float, int]] = deque()
        self._reused = 0  # prompt tokens found in the cache since loading
        self._closed = False
        self._piece = ctypes.create_string_buffer(256)
        self._thread = threading.Thread(target=self._run, name="neira-batch", daemon=True)
        self._thread.start()

    # -- any thread ------------------------------------------------------------
    def submit(self, req: SeqRequest) -> None:
        """Queue a request for the next free slot, behind those of its class or a lower one."""
        with self._cond:
            if self._closed:
                raise EngineError("the model is unloading; try again")
            ahead = sum(1 for r in self._waiting if r.latency <= req.latency)
            self._waiting.insert(ahead, req)
            self._cond.notify()

    def stats(self) -> dict[str, Any]:
        """Slots in use, prompts waiting, KV-cache use and tokens/s over the last minute.

        ``kv_used_tokens`` counts the running sequences' cells; prefixes kept
        for reuse by free slots give way to them and are not counted.
        """
        with self._cond:
            kv_used = sum(s.n_past for s in self._running.values())
            running = len(self._running)
            prefilling = sum(not s.prefilled for s in self._running.values())
            waiting = len(self._waiting)
            now = time.perf_counter()
            recent = sum(n for t, n in self._rate if now - t <= RATE_WINDOW_S)
        capacity = self.slots * self.slot_ctx
        return {
            "slots": self.slots,
            "running": running,
            "prefilling": prefilling,
            "waiting": waiting,
            "kv_used_tokens": kv_used,
            "kv_capacity_tokens": capacity,
            "kv_use": round(kv_used / capacity, 4) if capacity else 0.0,
            "tokens_per_second_1m": round(recent / RATE_WINDOW_S, 2),
            "prompt_tokens_reused": self._reused,
            "cached_prompts": len(self._cache.parked),
            "cached_prompt_tokens": self._cache.tokens,
        }

    def close(self) -> None:
        """Finish the requests already queued or running, then stop and free the batch.

        Every sequence ends by itself (``max_tokens``, its context, a stop or
        its cancel token), so this returns; the engine cancels its jobs first.
        """
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()
        self._ll.llama_batch_free(self._batch)

    # -- the loop thread ---------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._waiting and not self._running:
                    self._cond.wait()
                if not self._waiting and not self._running:
                    return  # closed and drained
                refused = self._admit()
            for req, finished in refused:
                self._send(req, finished)
            try:
                self._step()
            except Exception as exc:  # a failed decode ends the sequences it held
                log.exception("neira: batch step failed")
                for slot in list(self._running.values()):
                    self._finish(slot, "stop", exc)

    def _admit(self) -> list[tuple[SeqRequest, Finished]]:
        """Move waiting requests into free slots (caller holds the lock); the requests
        that end here (dropped, or a grammar llama.cpp refuses) with their last event."""
        ended: list[tuple[SeqRequest, Finished]] = []
        for req in [r for r in self._waiting if r.dropped]:
            self._waiting.remove(req)
            now = time.perf_counter()
            ended.append((req, Finished("cancelled", len(req.tokens), 0, None, now)))
        while self._free and self._waiting:
            req = self._waiting.popleft()
            grammar = (self._vocab, req.grammar) if req.grammar is not None else None
            try:
                sampler = make_sampler(self._n_vocab, self._ban, grammar=grammar, **req.sampling)
            except GrammarRefused as exc:  # this request's fault: the reader says so
                now = time.perf_counter()
                ended.append((req, Finished("stop", len(req.tokens), 0, None, now, exc)))
                continue
            seq_id, kv = self._reuse(req.tokens)
            self._running[seq_id] = Slot(seq_id, req, sampler, kv)
        return ended

    @staticmethod
    def _send(req: SeqRequest, event: str | Finished) -> None:
        """Hand ``event`` to the request's reader; a reader that fails is dropped."""
        try:
            req.send(event)
        except Exception:
            log.exception("neira: a generation's reader failed; its sequence is dropped")
            req.abandoned = True

    def _reuse(self, tokens: list[int]) -> tuple[int, list[int]]:
        """Take the free slot sharing the longest prefix with ``tokens``; trim its cells to it.

        At least the prompt's last token is always evaluated again: its logits
        give the first token. Ties go to the slot free the longest.
        """
        best, best_n = self._free[0], -1
        for seq_id in self._free:
            n = common_prefix(self._kept[seq_id], tokens)
            if n > best_n:
                best, best_n = seq_id, n
        self._free.remove(best)
        n = min(best_n, len(tokens) - 1)
        kept = self._kept[best]
        self._kept[best] = []
        source, shared = self._longest_prefix_elsewhere(tokens, best)
        if min(shared, len(tokens) - 1) > n:
            # another sequence holds more of this prompt: share its cells (the
            # unified cache tags them with both sequence ids; nothing is copied)
            n = min(shared, len(tokens) - 1)
            self._park(best, kept, keep=source)
            self._cache.touch(source)
            self._ll.llama_memory_seq_rm(self._memory, best, -1, -1)
            self._ll.llama_memory_seq_cp(self._memory, source, best, 0, n)
            kept = tokens[:n]
        else:
            if n < len(kept):
                self._park(best, kept)
            if n <= 0 or not self._ll.llama_memory_seq_rm(self._memory, best, n, -1):
                self._ll.llama_memory_seq_rm(self._memory, best, -1, -1)
                n = 0
        self._reused += n
        return best, kept[:n]

    def _park(self, seq_id: int, kept: list[int], keep: int | None = None) -> None:
        """Park a free slot's cells before they are cut, unless another sequence holds
        them; the parked prompt ``keep`` stays (the new prompt shares its cells next)."""
        if kept and self._longest_prefix_elsewhere(kept, seq_id)[1] < len(kept):
            self._cache.park(seq_id, kept, keep)

    def _longest_prefix_elsewhere(self, tokens: list[int], exclude: int) -> tuple[int, int]:
        """The sequence other than ``exclude`` (running, a free slot's kept cells, or a
        parked prompt) whose decoded cells share the longest prefix with ``tokens``, and its length.

        Between steps every running slot's ``kv`` is decoded, so its cells exist.
        """
        cells = {seq: kv for seq, kv in self._kept.items() if seq != exclude}
        cells.update({seq: slot.kv for seq, slot in self._running.items()})
        cells.update(self._cache.parked)
        best, best_n = exclude, 0
        for seq_id, kv in cells.items():
            n = common_prefix(kv, tokens)
            if n > best_n:
                best, best_n = seq_id, n
        return best, best_n

    def _add(self, slot: Slot, token: int, logits: bool) -> int:
        """Put ``token`` at the slot's next position in this step's batch."""
        batch = self._batch
        pos, seq_id = len(slot.kv), slot.seq_id
        slot.kv.append(token)
        i = int(batch.n_tokens)
        batch.token[i] = token
        batch.pos[i] = pos
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = seq_id
        batch.logits[i] = logits
        batch.n_tokens = i + 1
        return i

    def _step(self) -> None:
        for slot in [s for s in self._running.values() if s.req.dropped]:
            self._finish(slot, "cancelled")
        if not self._running:
            return
        began = time.perf_counter()
        self._batch.n_tokens = 0
        for slot in self._running.values():
            slot.output = None
            if slot.prefilled:
                slot.output = self._add(slot, slot.last_token, True)
        shared, alone = self.prefill_chunk
        budget = shared if self._batch.n_tokens else alone
        # lower latency classes (completions first) read their prompts first
        for slot in sorted(self._running.values(), key=lambda s: s.req.latency):
            if budget <= 0:
                break
            if slot.prefilled:
                continue
            tokens = slot.req.tokens
            if slot.prompt_began is None:
                slot.prompt_began = began
            end = min(len(tokens), slot.fed + budget)
            for i in range(slot.fed, end):
                last = i == len(tokens) - 1
                row = self._add(slot, tokens[i], last)
                if last:
                    slot.output = row
            budget -= end - slot.fed
            slot.fed = end
        rc = self._ll.llama_decode(self._ctx, self._batch)
        if rc != 0:
            raise EngineError(f"llama_decode failed with status {rc}")
        now = time.perf_counter()
        sampled = 0
        for slot in list(self._running.values()):
            if slot.output is not None:
                sampled += 1
                self._advance(slot, now)
        with self._cond:
            self._rate.append((now, sampled))
            while self._rate and now - self._rate[0][0] > RATE_WINDOW_S:
                self._rate.popleft()

    def _advance(self, slot: Slot, now: float) -> None:
        """Sample the slot's next token, stream its text and end it when it is done."""
        ll = self._ll
        assert slot.output is not None
        if slot.prompt_done is None:  # the first sample: this step read the prompt's end
            slot.prompt_done = now
        token = ll.llama_sampler_sample(slot.sampler, self._ctx, slot.output)
        if slot.first_token_at is None:
            slot.first_token_at = time.perf_counter()
        if ll.llama_vocab_is_eog(self._vocab, token):
            self._finish(slot, "stop")
            return
        slot.completion += 1
        slot.last_token = token
        if slot.req.logprobs is not None:
            slot.req.scored.append(self._score(slot.output, token, slot.req.logprobs))
        text = slot.text.feed(self._bytes(token))
        if text:
            self._send(slot.req, text)
        if slot.text.stopped:
            self._finish(slot, "stop")
        elif 0 < slot.req.max_tokens <= slot.completion or slot.n_past >= self.slot_ctx:
            self._finish(slot, "length")

    def _bytes(self, token: int) -> bytes:
        n = self._ll.llama_token_to_piece(
            self._vocab, token, self._piece, len(self._piece), 0, False
        )
        return self._piece.raw[: max(n, 0)]

    def _score(self, output: int, token: int, top: int) -> TokenLogprob:
        """``token``'s log probability in this step's logits row, and the ``top`` likeliest."""
        row = self._ll.llama_get_logits_ith(self._ctx, output)
        return score_token(row, self._n_vocab, token, top, self._bytes)

    def _finish(self, slot: Slot, finish: FinishReason, error: BaseException | None = None) -> None:
        tail = slot.text.flush()
        if tail and error is None:
            self._send(slot.req, tail)
        if error is None:  # the cells hold slot.kv: keep them for a prompt that shares it
            kept = slot.kv
        else:  # a failed decode leaves the cells unknown
            self._ll.llama_memory_seq_rm(self._memory, slot.seq_id, -1, -1)
            kept = []
        self._ll.llama_sampler_free(slot.sampler)
        with self._cond:
            del self._running[slot.seq_id]
            self._kept[slot.seq_id] = kept
            self._free.append(slot.seq_id)
        self._send(slot.req, slot.finished(finish, time.perf_counter(), error))
