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

Its parts: ``generation.GenerationService`` (the LLMs, the ``MemoryWatch``
and the ``ModelRouter`` choosing among them, whose loads and unloads run on
each model's lane; generations, retried on the next route when one fails
before its first token), ``transcription.TranscriptionService`` (whole files,
local or remote, and live streams, on the speech lanes) and the
``TranscriptCorrector`` (whose generations go through ``generate``).

Every entry point (``generate``, ``transcribe``, ``decode_live``) first asks
``admission`` (``admission.Admission``; by default everyone is admitted), and
tells ``usage_observers`` what was used however the work ended
(``observe.UsageObserver``): the Hub service's quotas are both. Finished work
is reported to ``observer`` (an ``EngineObserver``; the base class ignores
it): each generation's result, transcription, correction and change of
route, from this one place, whichever handler asked for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._version import __version__
from .admission import Admission, AdmitAll
from .config import EngineConfig
from .correct import Correction, DegradedReason, TranscriptCorrector
from .embedding import EMBEDDING_LANE, Embedded, EmbeddingInput, EmbeddingService
from .generation import GenerationEvents, GenerationService, GenerationStart, run_to_result
from .lanes import LaneActions
from .llm import TokenChunk
from .observe import EngineObserver, UsageObserver, notify
from .schedule import Scheduler
from .speech import (
    SAMPLE_RATE,
    LiveCalls,
    Priority,
    Transcript,
    Window,
)
from .transcription import SPEECH_LANE, TranscriptionService
from .types import (
    ChatMessage,
    GenerationOptions,
    GenerationResult,
    Latency,
    NoModelAvailable,
    Usage,
)

log = logging.getLogger("neira_jupyter")

__all__ = ["GenerationStart", "NeiraEngine"]


class NeiraEngine:
    """The resident models behind one server process."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.scheduler = Scheduler(
            config.queue_capacity, config.retry_after, per_user=config.jobs_per_user
        )
        self.lanes = LaneActions(self.scheduler)
        self.generation = GenerationService(config, self.scheduler, self.lanes)
        self.transcription = TranscriptionService(config, self.scheduler, self.lanes)
        self.embeddings = EmbeddingService(config.embedding, self.scheduler, self.lanes)
        self.corrector = TranscriptCorrector()
        self.observer = EngineObserver()
        self.admission: Admission = AdmitAll()
        self.usage_observers: list[UsageObserver] = []
        self._started = False
        self.generation.router.on_switch = lambda switch: notify(self.observer.route_switch, switch)

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        """Create the workers and, when eager, start loading in the background."""
        if self._started:
            return
        self._started = True
        self.generation.add_lanes()
        self.transcription.add_lanes()
        self.embeddings.add_lanes()
        self.generation.memory.poll()  # the first reading decides whether the primary fits at all
        self.generation.memory.start()
        self.generation.router.refresh()  # loads the route's model now when eager
        if self.config.router.preload:
            self.transcription.preload()
            self.embeddings.preload()

    async def stop(self) -> None:
        """Cancel all work and free the models."""
        await self.generation.memory.stop()
        busy = await asyncio.to_thread(self.scheduler.stop)
        lanes: list[tuple[Any, str]] = [(model, model.name) for model in self.generation.llms]
        if self.transcription.speech is not None:
            lanes.append((self.transcription.speech, SPEECH_LANE))
        if self.embeddings.model is not None:
            lanes.append((self.embeddings.model, EMBEDDING_LANE))
        for model, lane in lanes:
            if lane in busy:  # never free a model under a call that is still running
                log.warning("neira: %s did not stop in time; left loaded", model.name)
                continue
            await asyncio.to_thread(model.close)

    # -- generation --------------------------------------------------------------
    async def generate(
        self,
        user: str,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        model: str = "auto",
        request_id: str | None = None,
    ) -> GenerationEvents:
        """Stream a generation: one ``GenerationStart``, ``TokenChunk``s, one result.

        Leaving the iteration early (``aclose``) cancels the job on the server.
        The tokens it streamed are counted however the stream ends (``usage_observers``),
        and a generation its reader left is reported ``cancelled`` (``observer``).
        """
        self.admission.admit(user, "generate")
        streamed = 0
        counted: int | None = None
        start: GenerationStart | None = None
        stream = self.generation.stream(user, messages, options, model, request_id)
        try:
            async for event in stream:
                if isinstance(event, TokenChunk):
                    streamed += 1
                elif isinstance(event, GenerationStart):
                    start = event
                elif isinstance(event, GenerationResult):
                    counted = event.usage.completion_tokens
                    notify(self.observer.generation, user, event)
                yield event
        finally:
            await stream.aclose()
            if counted is None and start is not None:  # the reader left: the job is cancelled
                left = GenerationResult(
                    "", start.model, "cancelled", Usage(completion_tokens=streamed),
                    route=start.route, route_reason=start.route_reason,
                )  # fmt: skip
                notify(self.observer.generation, user, left)
            tokens = counted if counted is not None else streamed
            for observer in self.usage_observers:
                notify(observer.add_tokens, user, tokens)

    def cancel(self, request_id: str, user: str) -> bool:
        """Cancel a queued or running request of ``user``; False if there is none."""
        job = self.scheduler.find(request_id, user)
        if job is None:
            return False
        self.scheduler.cancel(job)
        return True

    # -- embeddings --------------------------------------------------------------------
    async def embed(self, user: str, inputs: list[EmbeddingInput]) -> Embedded:
        """Embed ``inputs`` on the embedding lane (``EmbeddingService.embed``).

        Admitted as a "generate" request; the input tokens count as used
        (``usage_observers``) once they are embedded.
        """
        self.admission.admit(user, "generate")  # rated and token-counted like a generation
        embedded = await self.embeddings.embed(user, inputs)
        for observer in self.usage_observers:
            notify(observer.add_tokens, user, embedded.tokens)
        return embedded

    # -- speech and correction -----------------------------------------------------
    async def transcribe(
        self,
        user: str,
        audio: np.ndarray,
        language: str = "auto",
        vad: bool = False,
        fallback: bool = True,
        words: bool = False,
    ) -> Transcript:
        """Transcribe 16 kHz mono float32 audio (``TranscriptionService.transcribe``).

        ``fallback``: Whisper's temperature fallback; ``words``: time each word
        (``WhisperTranscriber.transcribe``).
        The audio counts as used (``usage_observers``) whether or not it finished.
        """
        self.admission.admit(user, "transcribe")
        seconds = len(audio) / SAMPLE_RATE
        try:
            transcript = await self.transcription.transcribe(
                user, audio, language, vad, fallback, words
            )
            notify(self.observer.transcription, user, transcript, seconds)
            return transcript
        finally:
            for observer in self.usage_observers:
                notify(observer.add_audio, user, seconds)

    async def decode_live(
        self, user: str, key: str, priority: Priority, source: Callable[[], Window | None]
    ) -> Transcript | None:
        """Decode a live stream's window in ``priority``'s turn (``SpeechDispatcher``).

        ``key`` names the stream; ``source`` gives the window when the lane
        takes the request. None: there was nothing new, or the request was dropped.
        Its audio counts as used once, when its segment is committed (not per partial).
        """
        self.admission.admit(user, "transcribe")
        transcript = await self.transcription.decode_live(key, priority, source)
        if transcript is not None:
            notify(self.observer.transcription, user, transcript, transcript.duration)
            if priority is not Priority.PARTIAL:
                for observer in self.usage_observers:
                    notify(observer.add_audio, user, transcript.duration)
        return transcript

    def live_calls(self, user: str) -> LiveCalls:
        """What a live stream of ``user`` may ask of the engine (``StreamingRecognizer``)."""
        return LiveCalls(
            decode=functools.partial(self.decode_live, user),
            drop=self.drop_live,
            hold_partials=self.hold_partials,
            correct=functools.partial(self.correct, user),
        )

    def live_model(self) -> str:
        """The model serving live streams now; raises ``NoModelAvailable`` when none may."""
        return self.transcription.live_model()

    def drop_live(self, key: str) -> None:
        """Drop the stream's waiting partial, if any (its final covers that audio)."""
        self.transcription.drop_live(key)

    def hold_partials(self) -> contextlib.AbstractContextManager[None]:
        """Live partials wait (briefly) while a stopped stream's final and correction run."""
        return self.transcription.hold_partials()

    async def correct(
        self,
        user: str,
        text: str,
        language: str = "auto",
        context: Sequence[Correction] = (),
        latency: Latency = Latency.NORMAL,
    ) -> Correction:
        """Correct a transcript with the LLM; degrades to the raw text, never loses it.

        ``context``: corrections of the text just before (a live stream's
        earlier segments), given to the model as context
        (``TranscriptCorrector.request``); ``latency``: the class its
        generation waits in (``Latency``).

        Routed once: the correction's own generation asks the router. When no
        backend could take it (``router.available()``, which changes nothing) or
        that routing finds none, the correction degrades with the router's reason.
        """
        unroutable = self.generation.router.available()
        refused: list[NoModelAvailable] = []  # the routing of its generation found none
        generate = None
        if unroutable is None:

            async def generate_via_engine(
                messages: list[ChatMessage], options: GenerationOptions
            ) -> GenerationResult:
                try:
                    return await run_to_result(self.generate(user, messages, options, "auto"))
                except NoModelAvailable as exc:  # its routing found no backend
                    refused.append(exc)
                    raise

            generate = generate_via_engine
        correction = await self.corrector.correct(
            text,
            language,
            generate,
            timeout_s=self.config.correction_timeout_s,
            context=context,
            latency=latency,
        )
        if unroutable is not None or refused:
            correction.reason = unroutable if unroutable is not None else str(refused[0])
            correction.reason_code = DegradedReason.NO_MODEL
        notify(self.observer.correction, user, correction)
        return correction

    # -- status -----------------------------------------------------------------
    def status(self, user: str | None = None) -> dict[str, Any]:
        """The document behind ``GET api/status``; request ids only of ``user``'s own jobs."""
        models: list[dict[str, Any]] = []
        for role, model in (
            ("primary", self.generation.primary),
            ("fallback", self.generation.fallback),
            ("remote", self.generation.remote),
        ):
            if model is not None:
                models.append({**model.describe(), "role": role})
        if self.transcription.speech is not None:
            models.append({**self.transcription.speech.describe(), "role": "speech"})
        if self.transcription.speech_remote is not None:
            models.append({**self.transcription.speech_remote.describe(), "role": "remote"})
        if (embedding := self.embeddings.describe()) is not None:
            models.append(embedding)
        router = self.generation.router.status()
        return {
            "version": __version__,
            "demo": self.config.demo,
            "notes": list(self.config.demo_notes),
            "llm_enabled": self.config.llm_enabled,
            "route": router["route"],
            "models": models,
            "memory": self.generation.memory.status(),
            "switches": router["switches"],
            "backends": router["backends"],
            "queue": self.scheduler.status(user),
            "speech_lane": self.transcription.live_status(),
            "time": time.time(),
        }
