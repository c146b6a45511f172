"""``TranscriptionService``: the speech models on their lanes, whole files and live streams.

The local Whisper (``speech``) runs on the ``speech`` lane, its load queued
there on first use (and again when a failed load's retry is due,
``LoadRetry``), so a request that arrives while it loads waits in that queue.
A whole-file transcription goes to ``speech_remote`` (an OpenAI-compatible
transcription server, ``speech.remote``, on its own lane) instead of the local
Whisper only with ``allow_external_api``: when no local speech model can
serve, or when ``speech_overflow_queue`` transcriptions already wait for it;
its transcript says so (``route``). Live streams decode locally through the
``SpeechDispatcher`` (finals first, partials coalesced into batched decodes),
with the same rule: every window goes to the remote when no local model can
serve, and a closed segment's (a final's) window does when
``speech_overflow_queue`` finals already wait for the local lane; partials
never overflow (they are dropped and coalesced instead). ``live_remote``
counts the live windows sent there.

Admission, usage and observers are the engine's (``service``): this module
only runs the transcription it is given.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .config import EngineConfig
from .lanes import LaneActions
from .resident import LoadRetry
from .schedule import Job, JobCancelled, Scheduler
from .speech import (
    Priority,
    RemoteTranscriber,
    SpeechDispatcher,
    Transcript,
    WhisperTranscriber,
    Window,
)
from .types import CancelToken, EngineError, ModelState, NoModelAvailable

SPEECH_LANE = "speech"
SPEECH_REMOTE_LANE = "speech-remote"


class TranscriptionService:
    """The configured speech models (local Whisper, remote API), served on their lanes."""

    def __init__(self, config: EngineConfig, scheduler: Scheduler, lanes: LaneActions) -> None:
        self.config = config
        self.scheduler = scheduler
        self.lanes = lanes
        self._retry = LoadRetry()
        self.speech = WhisperTranscriber(config.speech) if config.speech else None
        remote = config.speech_remote
        self.speech_remote = RemoteTranscriber(remote) if remote else None
        self.live_speech: SpeechDispatcher[Transcript] | None = None
        self.live_remote = 0  # live windows decoded by speech_remote
        if self.speech is not None:  # live streams' decodes: finals first, partials coalesced
            speech = self.speech
            self.live_speech = SpeechDispatcher(
                self._decode_windows, lambda: speech.batch_size, speech.spec.num_workers
            )

    def add_lanes(self) -> None:
        """Create the speech lanes (the engine's ``start``)."""
        if self.speech is not None:
            self.scheduler.add_lane(SPEECH_LANE, threads=self.speech.spec.num_workers)
        if self.speech_remote is not None:
            self.scheduler.add_lane(SPEECH_REMOTE_LANE, threads=self.speech_remote.spec.concurrency)

    def preload(self) -> None:
        """Queue the local model's load now (``eager``), not on first use."""
        if self.speech is not None:
            self.lanes.load_in_lane(self.speech, SPEECH_LANE)

    # -- whole files ---------------------------------------------------------------
    async def transcribe(
        self,
        user: str,
        audio: np.ndarray,
        language: str,
        vad: bool,
        fallback: bool,
        words: bool = False,
    ) -> Transcript:
        """Transcribe 16 kHz mono float32 audio on the speech worker(s).

        ``fallback``: Whisper's temperature fallback; ``words``: time each word (both
        ``WhisperTranscriber.transcribe``'s; a remote transcriber times no words).
        The transcript's ``route`` says who served it (``_route``).
        """
        remote = self._route(lambda: self.scheduler.waiting(SPEECH_LANE))
        if remote is not None:

            def remote_work(_cancel: CancelToken, _emit: Any) -> Transcript:
                return remote.transcribe(audio, language=language, vad=vad)

            job = self.scheduler.submit(user, SPEECH_REMOTE_LANE, remote_work)
        else:
            speech = self.local_model()

            def work(cancel: CancelToken, _emit: Any) -> Transcript:
                return ready(speech).transcribe(
                    audio,
                    language=language,
                    vad=vad,
                    cancel=cancel,
                    fallback=fallback,
                    words=words,
                )

            job = self.scheduler.submit(user, SPEECH_LANE, work)
        transcript: Transcript = await self._wait(job)
        return transcript

    def _route(self, waiting: Callable[[], int] | None) -> RemoteTranscriber | None:
        """The remote transcriber when it should serve the next transcription: allowed
        (``allow_external_api``) and either no local model can serve (none, or its load
        failed) or ``waiting`` (None: no overflow) reaches ``speech_overflow_queue``.
        None: the local model. Raises ``NoModelAvailable`` when neither may serve."""
        remote, local = self.speech_remote, self.speech
        if remote is None or not self.config.router.allow_external_api:
            if local is None and remote is not None:
                raise NoModelAvailable(
                    "no local speech model, and speech_remote_url may not be used: "
                    "allow_external_api is off (audio would leave this server)"
                )
            return None
        if local is None or self.local_model().state is ModelState.FAILED:
            return remote  # local_model retried a failed load when due
        limit = self.config.speech_overflow_queue
        return remote if limit and waiting is not None and waiting() >= limit else None

    def local_model(self) -> WhisperTranscriber:
        """The local speech model, its load queued when it is not loaded.

        Raises ``NoModelAvailable`` when there is none."""
        speech = self.speech
        if speech is None:
            raise NoModelAvailable("no speech model is configured")
        self.lanes.load_when_due(speech, SPEECH_LANE, self._retry)
        return speech

    # -- live streams ----------------------------------------------------------------
    def live_model(self) -> str:
        """The name of the model that serves live streams now (the local one, or the remote
        when no local one can). Raises ``NoModelAvailable`` when neither may serve."""
        remote = self._route(None)
        return remote.name if remote is not None else self.local_model().name

    async def decode_live(
        self, key: str, priority: Priority, source: Callable[[], Window | None]
    ) -> Transcript | None:
        """Decode a live stream's window in ``priority``'s turn (``SpeechDispatcher``), or on
        the remote (``_live_remote``).

        ``key`` names the stream; ``source`` gives the window when the lane
        takes the request. None: there was nothing new, or the request was dropped.
        """
        remote = self._live_remote(priority)
        if remote is not None:
            window = source()
            if window is None:
                return None
            self.live_remote += 1

            def work(_cancel: CancelToken, _emit: Any) -> Transcript:
                return remote.transcribe(window.audio, language=window.language or "auto")

            transcript: Transcript = await self._wait(
                self.scheduler.submit_internal(SPEECH_REMOTE_LANE, work)
            )
            return transcript
        self.local_model()  # raises when there is none; queues its load when unloaded
        assert self.live_speech is not None  # there is one whenever there is a speech model
        return await self.live_speech.decode(key, priority, source)

    def _live_remote(self, priority: Priority) -> RemoteTranscriber | None:
        """``_route`` for a live window: a final's overflows when ``speech_overflow_queue``
        finals already wait for the local lane; a partial's never does."""
        dispatcher = self.live_speech
        if priority is Priority.PARTIAL or dispatcher is None:
            return self._route(None)
        return self._route(lambda: dispatcher.waiting_finals())

    def live_status(self) -> dict[str, Any] | None:
        """How loaded the live-speech lane is, and how many windows went to the remote
        (``GET api/status``'s ``speech_lane``); None without a local speech model."""
        if self.live_speech is None:
            return None
        return {**self.live_speech.status(), "remote": self.live_remote}

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
        speech = self.local_model()

        def work(_cancel: CancelToken, _emit: Any) -> list[Transcript]:
            return ready(speech).transcribe_windows(windows)

        result: list[Transcript] = await self._wait(
            self.scheduler.submit_internal(SPEECH_LANE, work)
        )
        return result

    async def _wait(self, job: Job) -> Any:
        """The job's result; leaving early (or its cancellation) cancels it."""
        try:
            return await job.wait()
        except JobCancelled:
            raise EngineError("the request was cancelled") from None
        finally:
            if not job.finished:
                self.scheduler.cancel(job)


def ready(speech: WhisperTranscriber) -> WhisperTranscriber:
    """``speech`` on its lane, loaded; raises ``NoModelAvailable`` when its load failed."""
    if speech.state is not ModelState.READY:
        raise NoModelAvailable(
            f"speech model {speech.name!r} is {speech.state.value}: {speech.error}"
        )
    return speech
