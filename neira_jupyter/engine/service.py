"""``NeiraEngine``: the resident models, the scheduler and the correction pipeline, composed.

This is the one object a server holds (the Jupyter extension, or another
host such as a JupyterHub service). It owns every model's lifecycle: loading
happens on the model's own lane (``lanes``), so a request that arrives while
its model loads simply waits in that model's queue; closing happens on
shutdown.

Every call is async and returns promptly: model work runs off the event loop.
A local LLM's lane has one thread, which admits up to ``slots`` generations
into the model's batch loop (``LlamaModel.start``); the loop's thread hands
each token to the waiting job with ``loop.call_soon_threadsafe``, so a token
crosses threads once (before: the loop's queue to one of ``slots`` relay
threads, then to the event loop: twice). Whisper and remote backends run
their blocking calls on their lanes' threads.

Which LLM serves a request is the ``ModelRouter``'s decision (``router``),
fed by ``MemoryWatch`` readings (``memory``); the engine carries out the
loads and unloads it asks for, each on the model's own worker lane, so an
unload queues behind the requests still running on that model. A generation
that fails before its first token (say, its model failed to load meanwhile)
is tried again on the route the router gives next, once per backend; its
result then names the backend that really served it.

A whole-file transcription goes to ``speech_remote`` (an OpenAI-compatible
transcription server, ``speech.remote``) instead of the local Whisper only
with ``allow_external_api``: when no local speech model can serve, or when
``speech_overflow_queue`` transcriptions already wait for it; its transcript
says so (``route``). Live streams always decode locally.

Finished work is reported to ``observer`` (an ``EngineObserver``; the base
class ignores it): each generation's result, transcription, correction and
change of route, from this one place, whichever handler asked for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._version import __version__
from .config import EngineConfig
from .correct import Correction, DegradedReason, TranscriptCorrector
from .jobs import Emit, Handoff
from .lanes import LaneActions
from .llm import LlamaModel, RemoteModel, TokenChunk
from .observe import EngineObserver, notify
from .resident import LoadRetry
from .routing import (
    Backend,
    Claim,
    MemoryEstimate,
    MemoryWatch,
    ModelRouter,
    Route,
    RouterConfig,
    estimate_model_memory,
    make_source,
)
from .schedule import Job, JobCancelled, Scheduler
from .speech import (
    SAMPLE_RATE,
    Priority,
    RemoteTranscriber,
    SpeechDispatcher,
    Transcript,
    WhisperTranscriber,
    Window,
)
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

log = logging.getLogger("neira_jupyter")

SPEECH_LANE = "speech"
SPEECH_REMOTE_LANE = "speech-remote"


__all__ = ["GenerationStart", "NeiraEngine", "Route"]


@dataclass
class GenerationStart:
    """First event of a generation stream: who serves it."""

    request_id: str
    model: str
    route: str
    route_reason: str


class NeiraEngine:
    """The resident models behind one server process."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.scheduler = Scheduler(
            config.queue_capacity, config.retry_after, per_user=config.jobs_per_user
        )
        self._speech_retry = LoadRetry()
        self.primary = LlamaModel(config.primary) if config.primary else None
        self.fallback = LlamaModel(config.fallback) if config.fallback else None
        self.remote = RemoteModel(config.remote) if config.remote else None
        self.speech = WhisperTranscriber(config.speech) if config.speech else None
        remote_speech = config.speech_remote
        self.speech_remote = RemoteTranscriber(remote_speech) if remote_speech else None
        self.live_speech: SpeechDispatcher[Transcript] | None = None
        if self.speech is not None:  # live streams' decodes: finals first, partials coalesced
            speech = self.speech
            self.live_speech = SpeechDispatcher(
                self._decode_windows, lambda: speech.batch_size, speech.spec.num_workers
            )
        self.corrector = TranscriptCorrector()
        self.observer = EngineObserver()
        self._started = False
        self.lanes = LaneActions(self.scheduler)
        use_gpu = any(m.spec.n_gpu_layers != 0 for m in self.llms)
        self.memory = MemoryWatch(
            make_source(config.memory_source, use_gpu=use_gpu),
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
            actions=self.lanes,
            watch=self.memory,
            config=RouterConfig(
                max_local_attempts=config.max_local_attempts,
                local_timeout_ms=config.local_timeout_ms,
                quick_max_tokens=config.quick_max_tokens,
                failure_cooldown_s=config.failure_cooldown_s,
                allow_external_api=config.allow_external_api,
                unload_on_pressure=config.unload_on_pressure,
                preload=config.eager,
                overflow_queue=config.overflow_queue,
            ),
            enabled=config.llm_enabled,
        )
        # every reading re-evaluates the route: free memory decides what fits
        self.lanes.router = self.router
        self.router.on_switch = lambda switch: notify(self.observer.route_switch, switch)
        self.memory.add_reading_listener(self.router.refresh)

    @staticmethod
    def _estimate(model: LlamaModel) -> MemoryEstimate | None:
        try:
            return estimate_model_memory(model.spec.path, model.spec.n_ctx * model.spec.slots)
        except OSError:
            return None  # a missing file: loading it will say so

    # -- lifecycle -------------------------------------------------------------
    @property
    def llms(self) -> list[LlamaModel]:
        return [m for m in (self.primary, self.fallback) if m is not None]

    def start(self) -> None:
        """Create the workers and, when eager, start loading in the background."""
        if self._started:
            return
        self._started = True
        if self.config.llm_enabled:
            for model in self.llms:  # one thread; one request per slot in the batch loop
                self.scheduler.add_lane(model.name, threads=1, slots=model.spec.slots)
            if self.remote is not None:
                self.scheduler.add_lane(self.remote.name, threads=self.remote.spec.concurrency)
        if self.speech is not None:
            self.scheduler.add_lane(SPEECH_LANE, threads=self.speech.spec.num_workers)
        if self.speech_remote is not None:
            self.scheduler.add_lane(SPEECH_REMOTE_LANE, threads=self.speech_remote.spec.concurrency)
        self.memory.poll()  # the first reading decides whether the primary fits at all
        self.memory.start()
        self.router.refresh()  # loads the route's model now when eager
        if self.config.eager and self.speech is not None:
            self.lanes.load_in_lane(self.speech, SPEECH_LANE)

    async def stop(self) -> None:
        """Cancel all work and free the models."""
        await self.memory.stop()
        busy = await asyncio.to_thread(self.scheduler.stop)
        lanes: list[tuple[Any, str]] = [(model, model.name) for model in self.llms]
        if self.speech is not None:
            lanes.append((self.speech, SPEECH_LANE))
        for model, lane in lanes:
            if lane in busy:  # never free a model under a call that is still running
                log.warning("neira: %s did not stop in time; left loaded", model.name)
                continue
            await asyncio.to_thread(model.close)

    # -- routing -----------------------------------------------------------------
    def route(self, model: str = "auto") -> Route:
        """Choose the backend for a generation. Raises ``NoModelAvailable``/``BadRequest``.

        With ``overflow_queue`` set, a request for ``auto`` goes to the remote
        API when that many requests already wait for the chosen local model.
        """
        route = self.router.route(model)
        if model != "auto" or route.target is None:
            return route
        return self.router.overflow(route, self.scheduler.waiting(route.target.name))

    # -- generation --------------------------------------------------------------
    async def generate(
        self,
        user: str,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        model: str = "auto",
        request_id: str | None = None,
    ) -> AsyncGenerator[GenerationStart | TokenChunk | GenerationResult, None]:
        """Stream a generation: one ``GenerationStart``, ``TokenChunk``s, one result.

        Leaving the iteration early (``aclose``) cancels the job on the server.
        """
        route = self.route(model)
        tried: list[str] = []
        quick = self.router.is_quick(options)
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
        notify(self.observer.generation, user, result)
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

        def work(cancel: CancelToken, emit: Emit) -> GenerationResult | Handoff | None:
            if llm.state is ModelState.FAILED:
                raise NoModelAvailable(f"model {llm.name!r} failed to load: {llm.error}")
            if llm.state is not ModelState.READY:
                llm.load()  # on first use, or after an unload: this lane owns the model
            if isinstance(llm, LlamaModel):  # the batch loop settles the job
                handoff = Handoff()
                llm.start(messages, options, cancel, emit, handoff.settle)
                return handoff
            result = None
            for item in llm.generate(messages, options, cancel):
                if isinstance(item, TokenChunk):
                    emit(item)
                else:
                    result = item
            return result

        claim = self.router.acquire(backend)
        try:
            job = self.scheduler.submit(user, llm.name, work, job_id=request_id)
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
        if route.target is None or route.target is failed.target or len(tried) > 3:
            return None
        route.reason = "; ".join([*tried, route.reason])
        return route

    async def complete(
        self,
        user: str,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        model: str = "auto",
    ) -> GenerationResult:
        """Run a generation to the end and return its result."""
        result: GenerationResult | None = None
        stream = self.generate(user, messages, options, model)
        try:
            async for event in stream:
                if isinstance(event, GenerationResult):
                    result = event
        finally:
            await stream.aclose()
        if result is None:  # generate always ends with a result; this guards a broken stream
            raise EngineError("the generation ended without a result")
        return result

    def cancel(self, request_id: str, user: str) -> bool:
        """Cancel a queued or running request of ``user``; False if there is none."""
        job = self.scheduler.find(request_id, user)
        if job is None:
            return False
        self.scheduler.cancel(job)
        return True

    # -- speech and correction -----------------------------------------------------
    async def transcribe(
        self,
        user: str,
        audio: np.ndarray,
        language: str = "auto",
        vad: bool = False,
        fallback: bool = True,
    ) -> Transcript:
        """Transcribe 16 kHz mono float32 audio on the speech worker(s).

        ``fallback``: Whisper's temperature fallback (``WhisperTranscriber.transcribe``).
        The transcript's ``route`` says who served it (``_speech_route``).
        """
        remote = self._speech_route()
        if remote is not None:

            def remote_work(_cancel: CancelToken, _emit: Any) -> Transcript:
                return remote.transcribe(audio, language=language, vad=vad)

            job = self.scheduler.submit(user, SPEECH_REMOTE_LANE, remote_work)
        else:
            speech = self._speech_model()

            def work(cancel: CancelToken, _emit: Any) -> Transcript:
                return self._ready(speech).transcribe(
                    audio, language=language, vad=vad, cancel=cancel, fallback=fallback
                )

            job = self.scheduler.submit(user, SPEECH_LANE, work)
        transcript: Transcript = await self._wait(job)
        notify(self.observer.transcription, user, transcript, len(audio) / SAMPLE_RATE)
        return transcript

    def _speech_route(self) -> RemoteTranscriber | None:
        """The remote transcriber when it should serve the next whole-file transcription:
        allowed (``allow_external_api``) and either no local model can serve (none, or
        its load failed) or ``speech_overflow_queue`` transcriptions already wait for it.
        None: the local model. Raises ``NoModelAvailable`` when neither may serve."""
        remote, local = self.speech_remote, self.speech
        if remote is None or not self.config.allow_external_api:
            if local is None and remote is not None:
                raise NoModelAvailable(
                    "no local speech model, and speech_remote_url may not be used: "
                    "allow_external_api is off (audio would leave this server)"
                )
            return None
        if local is None or self._speech_model().state is ModelState.FAILED:
            return remote  # _speech_model retried a failed load when due
        limit = self.config.speech_overflow_queue
        return remote if limit and self.scheduler.waiting(SPEECH_LANE) >= limit else None

    def _speech_model(self) -> WhisperTranscriber:
        """The speech model, its load queued when it is not loaded. Raises ``NoModelAvailable``."""
        speech = self.speech
        if speech is None:
            raise NoModelAvailable("no speech model is configured")
        self._speech_retry.due(speech, time.monotonic())
        if speech.state is ModelState.UNLOADED:
            self.lanes.load_in_lane(speech, SPEECH_LANE)
        return speech

    @staticmethod
    def _ready(speech: WhisperTranscriber) -> WhisperTranscriber:
        """``speech`` on its lane, loaded; raises ``NoModelAvailable`` when its load failed."""
        if speech.state is not ModelState.READY:
            raise NoModelAvailable(
                f"speech model {speech.name!r} is {speech.state.value}: {speech.error}"
            )
        return speech

    async def decode_live(
        self, user: str, key: str, priority: Priority, source: Callable[[], Window | None]
    ) -> Transcript | None:
        """Decode a live stream's window in ``priority``'s turn (``SpeechDispatcher``).

        ``key`` names the stream; ``source`` gives the window when the lane
        takes the request. None: there was nothing new, or the request was dropped.
        """
        self._speech_model()  # raises when there is none; queues its load when unloaded
        assert self.live_speech is not None  # there is one whenever there is a speech model
        transcript = await self.live_speech.decode(key, priority, source)
        if transcript is not None:
            notify(self.observer.transcription, user, transcript, transcript.duration)
        return transcript

    def drop_live(self, key: str) -> None:
        """Drop the stream's waiting partial, if any (its final covers that audio)."""
        if self.live_speech is not None:
            self.live_speech.drop(key, partial_only=True)

    @contextlib.contextmanager
    def hold_partials(self) -> Iterator[None]:
        """Live partials wait (briefly) while a stopped stream's final and correction run."""
        if self.live_speech is None:
            yield
            return
        with self.live_speech.hold():
            yield

    async def _decode_windows(self, windows: list[Window]) -> list[Transcript]:
        """One lane job that decodes ``windows`` together (the dispatcher's batches)."""
        speech = self._speech_model()

        def work(_cancel: CancelToken, _emit: Any) -> list[Transcript]:
            return self._ready(speech).transcribe_windows(windows)

        result: list[Transcript] = await self._wait(
            self.scheduler.submit_internal(SPEECH_LANE, work)
        )
        return result

    async def correct(self, user: str, text: str, language: str = "auto") -> Correction:
        """Correct a transcript with the LLM; degrades to the raw text, never loses it.

        Routed once: the correction's own generation asks the router. When no
        backend could take it (``router.available()``, which changes nothing) or
        that routing finds none, the correction degrades with the router's reason.
        """
        unroutable = self.router.available()
        refused: list[NoModelAvailable] = []  # the routing of its generation found none
        generate = None
        if unroutable is None:

            async def generate_via_engine(
                messages: list[ChatMessage], options: GenerationOptions
            ) -> GenerationResult:
                stream = self.generate(user, messages, options, "auto")
                try:
                    try:
                        await anext(stream)  # the start: routing errors surface here
                    except NoModelAvailable as exc:
                        refused.append(exc)
                        raise
                    async for event in stream:
                        if isinstance(event, GenerationResult):
                            return event
                finally:
                    await stream.aclose()
                raise EngineError("the generation ended without a result")

            generate = generate_via_engine
        correction = await self.corrector.correct(
            text, language, generate, timeout_s=self.config.correction_timeout_s
        )
        if unroutable is not None or refused:
            correction.reason = unroutable if unroutable is not None else str(refused[0])
            correction.reason_code = DegradedReason.NO_MODEL
        notify(self.observer.correction, user, correction)
        return correction

    async def _wait(self, job: Job) -> Any:
        try:
            return await job.wait()
        except JobCancelled:
            raise EngineError("the request was cancelled") from None
        finally:
            if not job.finished:
                self.scheduler.cancel(job)

    # -- status -----------------------------------------------------------------
    def status(self, user: str | None = None) -> dict[str, Any]:
        """The document behind ``GET api/status``; request ids only of ``user``'s own jobs."""
        models: list[dict[str, Any]] = []
        for role, model in (
            ("primary", self.primary),
            ("fallback", self.fallback),
            ("remote", self.remote),
        ):
            if model is not None:
                models.append({**model.describe(), "role": role})
        if self.speech is not None:
            models.append({**self.speech.describe(), "role": "speech"})
        if self.speech_remote is not None:
            models.append({**self.speech_remote.describe(), "role": "remote"})
        router = self.router.status()
        return {
            "version": __version__,
            "demo": self.config.demo,
            "notes": list(self.config.demo_notes),
            "llm_enabled": self.config.llm_enabled,
            "route": router["route"],
            "models": models,
            "memory": self.memory.status(),
            "switches": router["switches"],
            "backends": router["backends"],
            "queue": self.scheduler.status(user),
            "speech_lane": self.live_speech.status() if self.live_speech else None,
            "time": time.time(),
        }
