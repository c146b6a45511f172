"""The load lifecycle shared by resident models (``LlamaModel``, ``WhisperTranscriber``).

``loading`` runs one load and records its outcome; ``LoadRetry`` decides when
a failed load may be tried again: after a growing pause (10 s, 20 s, 40 s ...
up to 10 min), so a transient fault (memory briefly short, a file being
copied) heals by itself, while a missing file stays failed until the
configuration changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from .types import EngineError, ModelState

log = logging.getLogger("neira_jupyter")


class Loadable(Protocol):
    """A model with a state and a recorded load error."""

    state: ModelState
    error: str | None

    @property
    def name(self) -> str: ...


@contextmanager
def loading(model: Loadable, detail: str = "") -> Iterator[None]:
    """Run a model's load: ``loading`` -> ``ready``, or ``failed`` with the error kept.

    A failure is logged and re-raised as ``EngineError`` naming the model, so
    status can show it and a caller can route around it.
    """
    model.state = ModelState.LOADING
    model.error = None
    started = time.perf_counter()
    try:
        yield
    except Exception as exc:
        model.state = ModelState.FAILED
        model.error = f"{type(exc).__name__}: {exc}"
        log.error("neira: loading %s failed: %s", model.name, model.error)
        raise EngineError(f"cannot load model {model.name!r}: {model.error}") from exc
    model.state = ModelState.READY
    log.info("neira: loaded %s (%s) in %.2fs", model.name, detail, time.perf_counter() - started)


@dataclass
class LoadRetry:
    """When a model whose load failed may be loaded again (exponential backoff)."""

    base_s: float = 10.0
    max_s: float = 600.0
    attempts: int = 0
    failed_at: float | None = None

    def wait_s(self) -> float:
        """The pause before the next attempt."""
        return float(min(self.max_s, self.base_s * 2**self.attempts))

    def due(self, model: Loadable, now: float) -> bool:
        """True when ``model`` failed long enough ago: it is then marked unloaded, to load anew."""
        if model.state is not ModelState.FAILED:
            if model.state is ModelState.READY:
                self.attempts = 0
            self.failed_at = None
            return False
        if (model.error or "").startswith("FileNotFoundError"):
            return False  # a configuration error: no retry heals it
        if self.failed_at is None:
            self.failed_at = now
            return False
        if now - self.failed_at < self.wait_s():
            return False
        self.attempts += 1
        self.failed_at = None
        model.state = ModelState.UNLOADED
        log.info("neira: retrying the load of %s (attempt %d)", model.name, self.attempts + 1)
        return True
