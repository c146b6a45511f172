"""The load lifecycle shared by resident models (``LlamaModel``, ``WhisperTranscriber``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
