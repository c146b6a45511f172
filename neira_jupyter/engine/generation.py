"""``GenerationService``: the LLM backends, the router among them, and their generations.

The configured LLMs (``primary``, ``fallback``: GGUF files run here;
``remote``: an OpenAI-compatible API) are the router's backends. Which one
serves a request is the ``ModelRouter``'s decision (``router``), fed by
``MemoryWatch`` readings (``memory``); the loads and unloads it asks for run
on each model's own lane (``lanes``), so an unload queues behind the requests
still running on that model.

A generation is queued on the lane of the backend its route names
(``schedule``); a local LLM's lane admits it into the model's batch loop
(``LlamaModel.start``), whose thread hands each token to the waiting job, and
a remote model's lane thread runs the blocking call. The router counts the
generation from ``acquire`` to ``release``, which also tells it how the
backend did: an error, or a slow first token (``local_timeout_ms``). A
generation that fails before its first token (say, its model failed to load
meanwhile) is tried again on the route the router gives next, once per
backend; its result then names the backend that really served it.

Admission, usage and observers are the engine's (``service``): this module
only runs the generation it is given.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace

from .config import EngineConfig
from .jobs import Emit, settle
from .lanes import LaneActions
from .llm import LlamaModel, RemoteModel, TokenChunk
from .llm.infill import instruction_messages
from .routing import (
    Backend,
    Claim,
    MemoryEstimate,
    MemoryWatch,
    ModelRouter,
    Route,
    estimate_model_memory,
    make_source,
)
from .schedule import Job, JobCancelled, Scheduler
from .types import (
    BadRequest,
    CancelToken,
    ChatMessage,
    EngineError,
    GenerationOptions,
    GenerationResult,
    ModelState,
    NoModelAvailable,
)

MAX_RETRIES = 3
"""Retries of a generation that failed before its first token, at most."""


@dataclass
class GenerationStart:
    """First event of a generation stream: who serves it."""

    request_id: str
    model: str
    route: str
    route_reason: str


GenerationEvents = AsyncGenerator[GenerationStart | TokenChunk | GenerationResult, None]
"""A generation's stream: one ``GenerationStart``, ``TokenChunk``s, one ``GenerationResult``."""


async def run_to_result(events: AsyncIterator[object]) -> GenerationResult:
    """Read a generation's events to the end and return its ``GenerationResult``.

    The stream is closed however this ends (cancelling the job when it did not
    finish); its errors (``NoModelAvailable`` at the start, ``EngineError``) propagate.
    """
    last: object = None
    try:
        async for event in events:
            last = event
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    if not isinstance(last, GenerationResult):
        raise EngineError("the generation ended without a result")
    return last


class GenerationService:
    """The configured LLMs, the memory watch and the router over them, and their generations."""

    def __init__(self, config: EngineConfig, scheduler: Scheduler, lanes: LaneActions) -> None:
        self.config = config
        self.scheduler = scheduler
        self.primary = LlamaModel(config.primary) if config.primary else None
        self.fallback = LlamaModel(config.fallback) if config.fallback else None
        self.remote = RemoteModel(config.remote) if config.remote else None
        self.memory = MemoryWatch(
            make_source(config.memory_source, use_gpu=config.offloads_layers),
            config.memory_thresholds,
            config.memory_interval_s,
        )
        backends = [
            Backend(role, model, estimate=self._estimate(model))
            for role, model in (("primary", self.primary), ("fallback", self.fallback))
            if model is not None
        ]
        if self.remote is not None:
            backends.append(Backend("remote", self.remote, local=False))
        self.router = ModelRouter(
            backends,
            actions=lanes,
            watch=self.memory,
            config=config.router,
            enabled=config.llm_enabled,
        )
        # every reading re-evaluates the route: free memory decides what fits
        lanes.router = self.router
        self.memory.add_reading_listener(self.router.refresh)

    @staticmethod
    def _estimate(model: LlamaModel) -> MemoryEstimate | None:
        try:
            return estimate_model_memory(model.spec.path, model.spec.kv_cells)
        except OSError:
            return None  # a missing file: loading it will say so

    @property
    def llms(self) -> list[LlamaModel]:
        """The local LLMs (primary, then fallback)."""
        return [m for m in (self.primary, self.fallback) if m is not None]

    def add_lanes(self) -> None:
        """Create the LLMs' lanes (the engine's ``start``), unless LLMs are disabled."""
        if not self.config.llm_enabled:
            return
        for model in self.llms:  # one thread; one request per slot in the batch loop
            self.scheduler.add_lane(model.name, threads=1, slots=model.spec.slots)
        if self.remote is not None:
            self.scheduler.add_lane(self.remote.name, threads=self.remote.spec.concurrency)

    def route(self, model: str = "auto") -> Route:
        """Choose the backend for a generation. Raises ``NoModelAvailable``/``BadRequest``.

        With ``overflow_queue`` set, a request for ``auto`` goes to the remote
        API when that many requests already wait for the chosen local model.
        """
        route = self.router.route(model)
        if model != "auto" or route.target is None:
            return route
        return self.router.overflow(route, self.scheduler.waiting(route.target.name))

    async def stream(
        self,
        user: str,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        model: str = "auto",
        request_id: str | None = None,
    ) -> GenerationEvents:
        """Run a generation on the backend ``model`` routes to (``route``), then on the next
        route while it fails before its first token; yield its ``GenerationStart``,
        ``TokenChunk``s and result. Leaving early (``aclose``) cancels the job.
        """
        route = self.route(model)
        tried: list[str] = []
        # a completion's slow start is a busy batch, not a failing model: never a switch
        quick = self.router.is_quick(options) and options.infill is None
        job, claim = self._submit(user, route, messages, options, request_id)
        backend = claim.backend
        llm = backend.model
        yield GenerationStart(job.id, llm.name, route.backend, route.reason)
        result: GenerationResult | None = None
        streamed = False
        while True:
            error: BaseException | None = None
            try:
                async for chunk in job.stream():
                    streamed = True
                    yield chunk
                result = job.result
            except JobCancelled:
                result = None
            except Exception as exc:
                error = exc
            finally:
                if not job.finished:
                    self.scheduler.cancel(job)
                # a long prompt's evaluation is not a slow start: the budget excludes it
                start_ms = result.timings.start_ms if result is not None else None
                self.router.release(backend, error, start_ms, quick, claim)
            if error is None:
                break
            # Failed before any token: try the next route (a switch must not lose it).
            tried.append(f"{route.backend} {llm.name!r} failed: {error}")
            retryable = not streamed and not isinstance(error, BadRequest)
            retry = self._next_route(route, tried) if retryable else None
            if retry is None:
                raise error
            route = retry
            job, claim = self._submit(user, route, messages, options, request_id)
            backend = claim.backend
            llm = backend.model
        if result is None:  # cancelled before a worker took it
            result = GenerationResult(text="", model=llm.name, finish_reason="cancelled")
        result.timings.queue_ms = job.queue_ms
        result.route = route.backend
        result.route_reason = route.reason
        yield result

    def _submit(
        self,
        user: str,
        route: Route,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        request_id: str | None,
    ) -> tuple[Job, Claim]:
        """Queue a generation on the route's lane; the router counts it until release."""
        backend = route.target
        if backend is None:  # route() raises instead of returning degraded
            raise NoModelAvailable(route.reason)
        llm = backend.model

        def work(
            cancel: CancelToken, emit: Emit
        ) -> GenerationResult | Future[GenerationResult | None] | None:
            if llm.state is ModelState.FAILED:
                raise NoModelAvailable(f"model {llm.name!r} failed to load: {llm.error}")
            if llm.state is not ModelState.READY:
                llm.load()  # on first use, or after an unload: this lane owns the model
            if isinstance(llm, LlamaModel):  # the batch loop's thread settles the job
                finished: Future[GenerationResult | None] = Future()
                llm.start(messages, options, cancel, emit, functools.partial(settle, finished))
                return finished
            result = None
            asked, plain = messages, options
            if options.infill is not None:  # a remote API gets the instruction prompt
                asked, plain = instruction_messages(options.infill), replace(options, infill=None)
            for item in llm.generate(asked, plain, cancel):
                if isinstance(item, TokenChunk):
                    emit(item)
                else:
                    result = item
            return result

        claim = self.router.acquire(backend)
        try:
            latency = options.latency_class
            job = self.scheduler.submit(user, llm.name, work, job_id=request_id, latency=latency)
        except BaseException:
            self.router.release(backend)
            raise
        return job, claim

    def _next_route(self, failed: Route, tried: list[str]) -> Route | None:
        """The route after ``failed`` for a retry, or None when there is no other."""
        try:
            route = self.router.route()
        except EngineError:
            return None
        if route.target is None or route.target is failed.target or len(tried) > MAX_RETRIES:
            return None
        route.reason = "; ".join([*tried, route.reason])
        return route
