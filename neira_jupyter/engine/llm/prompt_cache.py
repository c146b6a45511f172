"""Prompts kept after their slot moved on: more cached prefixes than decoding slots.

A free slot of the batch loop keeps the cells its last sequence left, so the
same user's next prompt reads only what changed. With more users than
slots (eight people typing, four slots), a new prompt often takes a slot
whose cells belong to someone else, and cutting them costs that person a
whole prompt the next time (a notebook of context, seconds on a CPU).

``PromptCache`` parks such cells under sequence ids of their own before
they are cut: ``llama_memory_seq_cp`` tags the same cells with the parked
id, so nothing is copied, and the cells outlive the slot's trim. A parked
prompt is then one more source the loop shares a prefix from. Parked
prompts are bounded by ``budget`` tokens, which the context is created
with on top of the slots' own (``LLMSpec.kv_cells``), and by ``CACHE_IDS``
entries; the least recently used goes first, and an entry that a longer one
contains is dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from .sequence import common_prefix

__all__ = ["CACHE_IDS", "MIN_PARKED_TOKENS", "PromptCache", "cache_ids"]

CACHE_IDS = 16
"""The most prompts parked at once (sequence ids beyond the slots')."""

MIN_PARKED_TOKENS = 32
"""Shorter prompts are not worth a parked id: they are read again in one step."""


def cache_ids(budget: int) -> int:
    """Sequence ids the cache needs beyond the slots' for a ``budget`` of tokens."""
    return CACHE_IDS if budget >= MIN_PARKED_TOKENS else 0


class PromptCache:
    """Parked prompts of one llama.cpp context, least recently used first.

    Only the batch loop's thread calls it (it calls llama.cpp).
    """

    def __init__(self, ll: Any, memory: Any, first_id: int, budget: int) -> None:
        self._ll = ll
        self._memory = memory
        self.budget = budget
        self._ids = list(reversed(range(first_id, first_id + cache_ids(budget))))
        self._parked: OrderedDict[int, list[int]] = OrderedDict()

    @property
    def parked(self) -> Mapping[int, list[int]]:
        """Each parked prompt's tokens by its sequence id."""
        return self._parked

    @property
    def tokens(self) -> int:
        """The cells the parked prompts hold (shared ones counted each time)."""
        return sum(map(len, self._parked.values()))

    def park(self, seq_id: int, cells: list[int], keep: int | None = None) -> None:
        """Keep ``cells`` (sequence ``seq_id``'s, about to be cut) under a parked id.

        Older parked prompts make room, least recently used first, except ``keep``
        (the one the prompt at hand is about to share); without room, nothing is parked.
        """
        if not self._ids and not self._parked:
            return  # no cache
        if not MIN_PARKED_TOKENS <= len(cells) <= self.budget:
            return
        for parked_id, held in list(self._parked.items()):
            if parked_id != keep and common_prefix(held, cells) == len(held):
                self._drop(parked_id)  # the new one contains it
        while not self._ids or self.tokens + len(cells) > self.budget:
            oldest = next((i for i in self._parked if i != keep), None)
            if oldest is None:
                return
            self._drop(oldest)
        parked_id = self._ids.pop()
        self._ll.llama_memory_seq_cp(self._memory, seq_id, parked_id, 0, len(cells))
        self._parked[parked_id] = list(cells)

    def touch(self, parked_id: int) -> None:
        """A prompt shared the parked one's cells: it is the most recently used now."""
        if parked_id in self._parked:
            self._parked.move_to_end(parked_id)

    def _drop(self, parked_id: int) -> None:
        self._ll.llama_memory_seq_rm(self._memory, parked_id, -1, -1)
        del self._parked[parked_id]
        self._ids.append(parked_id)
