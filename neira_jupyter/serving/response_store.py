"""``ResponseStore``: the responses ``v1/responses`` keeps, per user, bounded, for a while.

A stored response is its document (what ``GET v1/responses/{id}`` answers)
and the conversation it ended (its input after any earlier responses', and
its output), which ``previous_response_id`` continues. Each user has their
own map, so one user's id never finds another's response. A user keeps at
most ``per_user`` responses (the oldest goes first) and each for
``ttl_s`` seconds from when it was stored; nothing is written to disk, and
a restart forgets them all. ``per_user`` 0 stores nothing.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from ..protocol import ChatMessage
from ..protocol.openai_response_objects import ResponseObject


@dataclass(frozen=True)
class StoredResponse:
    """A response kept for its user: the document and the conversation through it."""

    document: ResponseObject
    conversation: tuple[ChatMessage, ...]
    expires: float


class ResponseStore:
    """Per-user responses, at most ``per_user`` each, each kept ``ttl_s`` seconds."""

    def __init__(
        self, per_user: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_user = per_user
        self.ttl_s = ttl_s
        self._clock = clock
        self._users: dict[str, OrderedDict[str, StoredResponse]] = {}

    @property
    def enabled(self) -> bool:
        return self.per_user > 0 and self.ttl_s > 0

    def put(self, user: str, document: ResponseObject, conversation: list[ChatMessage]) -> None:
        """Keep ``user``'s response (dropping their oldest beyond ``per_user``)."""
        if not self.enabled:
            return
        kept = self._kept(user, create=True)
        kept[document.id] = StoredResponse(
            document, tuple(conversation), self._clock() + self.ttl_s
        )
        while len(kept) > self.per_user:
            kept.popitem(last=False)

    def get(self, user: str, response_id: str) -> StoredResponse | None:
        """``user``'s response ``response_id``, or None (never another user's)."""
        return self._kept(user).get(response_id)

    def delete(self, user: str, response_id: str) -> bool:
        """Forget ``user``'s response; False when they have none of that id."""
        return self._kept(user).pop(response_id, None) is not None

    def _kept(self, user: str, create: bool = False) -> OrderedDict[str, StoredResponse]:
        """``user``'s responses, the expired ones dropped (they are in the order stored)."""
        kept = self._users.get(user)
        if kept is None:
            kept = OrderedDict()
            if create:
                self._users[user] = kept
        now = self._clock()
        while kept and next(iter(kept.values())).expires <= now:
            kept.popitem(last=False)
        return kept
