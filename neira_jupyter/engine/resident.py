"""The load lifecycle shared by resident models (``LlamaModel``, ``WhisperTranscriber``).

``ResidentModel`` owns a model's state, its recorded error and the lock that
makes ``load`` and ``close`` safe to call from any thread; subclasses only say
how to open and release their runtime objects. ``loading`` runs one load and
records its outcome; ``LoadRetry`` decides when
a failed load may be tried again: after a growing pause (10 s, 20 s, 40 s ...
up to 10 min), so a transient fault (memory briefly short, a file being
copied) heals by itself, while a missing file stays failed until the
configuration changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

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


class ResidentModel:
    """A model kept in memory: state, last load error, and a guarded load/close.

    ``path`` is what the configuration names (a file or a folder), ``weights``
    the file whose size is the model's memory. Subclasses implement ``_open``
    (check the files, build the runtime objects; raise on failure),
    ``_release`` (drop them) and ``_load_detail`` (a few words for the log).
    """

    kind = "model"

    def __init__(self, name: str, path: Path, weights: Path | None = None) -> None:
        self._name = name
        self._path = path
        self._weights = weights or path
        self.state = ModelState.UNLOADED
        self.error: str | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def device(self) -> str:
        raise NotImplementedError

    def load(self) -> None:
        """Load once; raises ``EngineError`` (and records it) on failure."""
        with self._lock:
            if self.state is ModelState.READY:
                return
            with loading(self, self._load_detail()):
                self._open()

    def close(self) -> None:
        """Free the model's memory. Safe to call twice; a failed state is kept."""
        with self._lock:
            self._release()
            if self.state is not ModelState.FAILED:
                self.state = ModelState.UNLOADED

    def describe(self) -> dict[str, Any]:
        """The model's part of the status document (subclasses add their own fields)."""
        size: int | None
        try:
            size = self._weights.stat().st_size
        except OSError:
            size = None
        return {
            "name": self.name,
            "kind": self.kind,
            "file": self._path.name,
            "state": self.state.value,
            "error": self.error,
            "device": self.device,
            "memory_bytes": size if self.state is ModelState.READY else 0,
        }

    def _require_weights(self, what: str = "model file") -> None:
        if not self._weights.is_file():
            raise FileNotFoundError(f"{what} not found: {self._weights}")

    def _open(self) -> None:
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError

    def _load_detail(self) -> str:
        return self._weights.name


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

    @staticmethod
    def healable(model: Loadable) -> bool:
        """Whether a failed load of ``model`` may succeed when tried again (a missing file is
        a configuration error: no retry heals it)."""
        return not (model.error or "").startswith("FileNotFoundError")

    def may_retry(self, model: Loadable, now: float) -> bool:
        """Read-only: whether the next request may find failed ``model`` loadable (its retry is
        due, or its backoff starts with that request)."""
        if model.state is not ModelState.FAILED or not self.healable(model):
            return False
        return self.failed_at is None or now - self.failed_at >= self.wait_s()

    def due(self, model: Loadable, now: float) -> bool:
        """True when ``model`` failed long enough ago: it is then marked unloaded, to load anew."""
        if model.state is not ModelState.FAILED:
            if model.state is ModelState.READY:
                self.attempts = 0
            self.failed_at = None
            return False
        if not self.healable(model):
            return False
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
