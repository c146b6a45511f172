"""Small helpers the tests share: text for word error rates, JSON posts, a clock set by hand."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.conftest import Fetch


def words(text: str) -> str:
    """Lower-case words without punctuation, one space apart (for word error rates)."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


async def post_json(jp_fetch: Fetch, path: str, body: Any, **kwargs: Any) -> Any:
    """``POST neira/api/{path}`` with ``body`` as JSON; ``kwargs`` go to ``jp_fetch``."""
    return await jp_fetch("neira", "api", path, method="POST", body=json.dumps(body), **kwargs)


class ManualClock:
    """A clock for code that takes one (``clock=``): it reads ``now``, which a test moves."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
