"""Embeddings: a GGUF embedding model (llama.cpp, pooled) on its own lane, batched across requests.

``EmbeddingModel`` is a resident model like the LLMs and Whisper: loaded on
its lane on first use (or at start when eager), its load retried with
backoff when it failed. ``EmbeddingService.embed`` queues one lane job per
request, through the scheduler's admission and per-user round-robin like
every other request. Each request's inputs also wait in a shared list; the
lane job that runs first takes its own inputs and, in arrival order, the
inputs of other requests still waiting (up to ``max_batch_inputs`` in all)
and embeds them in one ``Llama.embed`` call. A request whose inputs were
embedded by an earlier job finds its result ready when its own job's turn
comes. A request with an input longer than the model's context is refused
alone (``InputTooLong``); the others in the batch are embedded.

Token-id inputs are ids of the model's own vocabulary: they are decoded to
text and embedded (``Llama.embed`` takes text), after their ids are checked.

A BERT-like model reads each input whole in one micro-batch, so the context,
the batch and the micro-batch are one size (``embedding_context``): the
model's trained context, at most ``MAX_EMBEDDING_TOKENS`` (attention over a
micro-batch grows with its square: BGE-M3's 8192 would need gigabytes).
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .lanes import LaneActions
from .resident import LoadRetry, ResidentModel
from .schedule import Job, JobCancelled, Scheduler
from .types import BadRequest, EngineError, ModelState, NoModelAvailable

EMBEDDING_LANE = "embedding"
MAX_EMBEDDING_TOKENS = 2048
"""The longest input any embedding model reads, in tokens (see the module docstring)."""

EmbeddingInput = str | list[int]


@dataclass(frozen=True)
class EmbeddingSpec:
    """The configured embedding model (``embedding_model_path``) and its limits."""

    name: str
    path: Path
    n_threads: int | None = None
    max_inputs: int = 256  # per request
    max_batch_inputs: int = 256  # per llama.cpp call, across requests


class InputTooLong(BadRequest):
    """An input with more tokens than the model's context (or a token id out of range)."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


@dataclass
class Embedded:
    """One request's vectors (in input order) and the tokens they used."""

    vectors: list[list[float]]
    tokens: int


def embedding_context(path: Path) -> int:
    """The tokens one input may have: the model's trained context (512 for MiniLM), at
    most ``MAX_EMBEDDING_TOKENS``; that cap when the GGUF does not say."""
    from .routing.gguf_header import read_gguf_metadata

    try:
        meta = read_gguf_metadata(path)
        trained = meta.get(f"{meta['general.architecture']}.context_length")
    except (ValueError, KeyError, OSError):
        trained = None
    if not isinstance(trained, int) or trained <= 0:
        return MAX_EMBEDDING_TOKENS
    return min(trained, MAX_EMBEDDING_TOKENS)


class EmbeddingModel(ResidentModel):
    """A GGUF embedding model (BERT-like, pooled) in llama.cpp."""

    kind = "embedding"

    def __init__(self, spec: EmbeddingSpec) -> None:
        super().__init__(spec.name, spec.path)
        self.spec = spec
        self._llama: Any = None

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def dimensions(self) -> int:
        return int(self._llama.n_embd()) if self._llama is not None else 0

    @property
    def context(self) -> int:
        return int(self._llama.n_ctx()) if self._llama is not None else 0

    def _open(self) -> None:
        self._require_weights()
        from llama_cpp import Llama

        n_ctx = embedding_context(self._path)
        llama = Llama(
            str(self._path),
            embedding=True,
            n_ctx=n_ctx,
            n_batch=n_ctx,
            n_ubatch=n_ctx,
            n_threads=self.spec.n_threads,
            verbose=False,
        )
        if int(llama.pooling_type()) <= 0:  # none or unspecified: no sentence vector
            llama.close()
            raise ValueError(f"{self._path.name} has no pooling type: not an embedding model")
        self._llama = llama

    def _release(self) -> None:
        if self._llama is not None:
            self._llama.close()
            self._llama = None

    def texts(self, inputs: list[EmbeddingInput]) -> tuple[list[str], int]:
        """The inputs as text, and their tokens; ``InputTooLong`` names the first bad one."""
        llama = self._llama
        vocab, context = int(llama.n_vocab()), self.context
        texts: list[str] = []
        tokens = 0
        for index, item in enumerate(inputs):
            if isinstance(item, str):
                text = item
            else:
                if any(not 0 <= t < vocab for t in item):
                    raise InputTooLong(
                        f"input[{index}] has a token id outside the model's vocabulary "
                        f"(0..{vocab - 1})",
                        index,
                    )
                text = llama.detokenize(item).decode("utf-8", "replace")
            count = len(llama.tokenize(text.encode("utf-8"), add_bos=True))
            if count > context:
                raise InputTooLong(
                    f"input[{index}] has {count} tokens; the embedding model "
                    f"{self.name!r} takes at most {context} per input",
                    index,
                )
            texts.append(text)
            tokens += count
        return texts, tokens

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One pooled vector per text, of unit length (as OpenAI's are)."""
        if not texts:
            return []
        vectors: list[list[float]] = self._llama.embed(texts, normalize=True, truncate=False)
        return vectors


@dataclass(eq=False)
class _Request:
    """One request's inputs, waiting to be embedded, and where its result goes."""

    inputs: list[EmbeddingInput]
    result: Future[Embedded] = field(default_factory=Future)


class EmbeddingService:
    """The embedding model on its lane; requests batched together (module docstring)."""

    def __init__(self, spec: EmbeddingSpec | None, scheduler: Scheduler, lanes: LaneActions):
        self.spec = spec
        self.scheduler = scheduler
        self.lanes = lanes
        self.model = EmbeddingModel(spec) if spec is not None else None
        self._retry = LoadRetry()
        self._waiting: deque[_Request] = deque()
        self._lock = threading.Lock()
        self.batches = 0  # llama.cpp calls made (status)

    def add_lanes(self) -> None:
        if self.model is not None:
            self.scheduler.add_lane(EMBEDDING_LANE)

    def preload(self) -> None:
        if self.model is not None:
            self.lanes.load_in_lane(self.model, EMBEDDING_LANE)

    def local_model(self) -> EmbeddingModel:
        """The model, its load queued when unloaded; ``NoModelAvailable`` when none."""
        model = self.model
        if model is None:
            raise NoModelAvailable("no embedding model is configured (embedding_enabled)")
        self.lanes.load_when_due(model, EMBEDDING_LANE, self._retry)
        return model

    async def embed(self, user: str, inputs: list[EmbeddingInput]) -> Embedded:
        """Embed ``inputs`` (at most ``max_inputs``) for ``user``, in their order."""
        self.local_model()
        request = _Request(list(inputs))
        job: Job | None = None
        with self._lock:
            self._waiting.append(request)
        try:
            job = self.scheduler.submit(user, EMBEDDING_LANE, lambda c, e: self._work(request))
            embedded: Embedded = await job.wait()
            return embedded
        except JobCancelled:
            raise EngineError("the request was cancelled") from None
        finally:
            with self._lock:
                if request in self._waiting:
                    self._waiting.remove(request)
            if job is not None and not job.finished:
                self.scheduler.cancel(job)

    def _work(self, request: _Request) -> Embedded:
        """The lane job of ``request``: embed it and others waiting, unless done already."""
        if not request.result.done():
            assert self.spec is not None
            with self._lock:
                taken = [request] if request in self._waiting else []
                size = len(request.inputs)
                for other in list(self._waiting):
                    if other is request or size + len(other.inputs) > self.spec.max_batch_inputs:
                        continue
                    taken.append(other)
                    size += len(other.inputs)
                for item in taken:
                    self._waiting.remove(item)
            self._run(taken)
        if not request.result.done():  # its request left before the job ran
            raise JobCancelled("the request was cancelled")
        return request.result.result()

    def _run(self, requests: list[_Request]) -> None:
        """Embed ``requests`` in one call; each gets its vectors or its own error."""
        model = self.model
        if model is not None and model.state in (ModelState.UNLOADED, ModelState.LOADING):
            # its queued load may wait behind this job in the round-robin: load it here (the
            # lane's one thread), and that load job then finds it ready
            with contextlib.suppress(EngineError):
                model.load()
        if model is None or model.state is not ModelState.READY:
            error = NoModelAvailable(
                f"embedding model {self.spec.name if self.spec else ''!r} is "
                f"{model.state.value if model else 'missing'}: {model.error if model else ''}"
            )
            for request in requests:
                request.result.set_exception(error)
            return
        ready: list[tuple[_Request, list[str], int]] = []
        for request in requests:
            try:
                texts, tokens = model.texts(request.inputs)
            except InputTooLong as exc:
                request.result.set_exception(exc)
            else:
                ready.append((request, texts, tokens))
        try:
            vectors = model.embed([text for _, texts, _ in ready for text in texts])
            self.batches += 1
        except Exception as exc:
            for request, _, _ in ready:
                request.result.set_exception(EngineError(f"embedding failed: {exc}"))
            return
        start = 0
        for request, texts, tokens in ready:
            request.result.set_result(Embedded(vectors[start : start + len(texts)], tokens))
            start += len(texts)

    def describe(self) -> dict[str, Any] | None:
        if self.model is None:
            return None
        return {**self.model.describe(), "role": "embedding"}
