"""One resident Whisper model through faster-whisper: load, transcribe, stream segments, close.

``WhisperTranscriber`` mirrors ``llm.LlamaModel``: it owns one
``faster_whisper.WhisperModel``, records load failures in ``state``/``error``
for the status document, and frees the model in ``close()``.

``transcribe_iter`` yields ``Segment`` objects as faster-whisper decodes them
(it decodes lazily, one 30 s window at a time) and, last, the whole
``Transcript`` -- the same shape as ``LlamaModel.generate`` (chunks, then the
result), ready for a WebSocket that streams partials. A ``CancelToken`` is
checked before each segment; a cancelled transcription ends early with
``Transcript.cancelled`` set. ``transcribe`` returns just the ``Transcript``.

``fallback`` (on by default) is faster-whisper's temperature fallback: a
window whose greedy decode looks wrong (low log probability, repetitive) is
decoded again at higher temperatures, up to five more times. A live partial
turns it off: on a short prefix of speech it often fires, and measured on the
demo Whisper base (2 CPU threads) it made a partial decode of 0.6-1.5 s of
Russian 2-4 times slower; the decode that closes a segment keeps it.

faster-whisper may be called from several threads at once (``num_workers``
CTranslate2 workers run in parallel); ``load`` and ``close`` belong to the
owner, as with the LLM.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..resident import ResidentModel
from ..types import BadRequest, CancelToken, EngineError, ModelState
from .audio import SAMPLE_RATE
from .window import Window, decode_windows

__all__ = ["Segment", "SpeechSpec", "Transcript", "WhisperTranscriber", "Word"]


@dataclass(frozen=True)
class SpeechSpec:
    """How to load one CTranslate2 Whisper model folder (``model.bin``, ``config.json``, ...).

    ``device`` is ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when CTranslate2 sees
    a GPU). ``compute_type`` ``"default"`` means int8 on CPU and float16 on CUDA.
    ``cpu_threads`` 0 means one per core, at most 4. ``batch``: live windows
    decoded in one call (``transcribe_windows``); 0 means 8 on CUDA, 1 on CPU.
    The defaults are the engine's own; ``NeiraApp.speech_*`` take theirs from here.
    """

    name: str
    path: Path
    device: str = 'auto'
    compute_type: str = 'default'
    num_workers: int = 1
    cpu_threads: int = 0
    batch: int = 0


@dataclass(frozen=True)
class Segment:
    """A stretch of speech and its text; times in seconds from the start of the audio.

    The rest is Whisper's decoding data for the segment, when a full decode
    made it (``transcribe``): where its 30 s window began (``seek``, in 10 ms
    frames), its token ids, the temperature that decoded it, the average log
    probability, the compression ratio and the probability of no speech.
    """

    start: float
    end: float
    text: str
    seek: int = 0
    tokens: tuple[int, ...] = ()
    temperature: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0


@dataclass(frozen=True)
class Word:
    """A word and when it was said (faster-whisper's ``word_timestamps``), in seconds."""

    word: str
    start: float
    end: float


@dataclass
class Transcript:
    """The result of one transcription.

    ``timings`` holds ``transcribe_ms``; whoever decoded the audio adds
    ``decode_ms``. ``cancelled`` is true when a ``CancelToken`` stopped it early:
    the segments are then the ones decoded so far. ``model`` and ``route``
    say who served it: ``"local"`` (this process's Whisper) or ``"remote"``
    (``remote.RemoteTranscriber``). ``words`` are timed when asked for (``words=True``),
    else empty.
    """

    text: str
    segments: list[Segment]
    language: str
    language_probability: float
    duration: float
    timings: dict[str, float] = field(default_factory=dict)
    cancelled: bool = False
    model: str = ""
    route: str = "local"
    words: list[Word] = field(default_factory=list)


def _cuda_available() -> bool:
    import ctranslate2

    return bool(ctranslate2.get_cuda_device_count() > 0)


def _import_faster_whisper() -> Any:
    try:
        import faster_whisper
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EngineError(
            "faster-whisper is not installed; install it with: pip install faster-whisper"
        ) from exc
    return faster_whisper


class WhisperTranscriber(ResidentModel):
    """One resident Whisper model."""

    kind = "speech"

    def __init__(self, spec: SpeechSpec) -> None:
        super().__init__(spec.name, spec.path, spec.path / "model.bin")
        self.spec = spec
        self._model: Any = None
        self._device: str | None = None
        self._compute_type: str | None = None

    @property
    def device(self) -> str:
        """The device the model runs on (resolved from ``"auto"`` once loaded)."""
        return self._device or self.spec.device

    @property
    def compute_type(self) -> str:
        """CTranslate2's compute type (resolved from ``"default"`` once loaded)."""
        return self._compute_type or self.spec.compute_type

    @property
    def batch_size(self) -> int:
        """Live windows per ``transcribe_windows`` call (``SpeechSpec.batch`` resolved)."""
        return self.spec.batch or (8 if self.device == "cuda" else 1)

    @property
    def multilingual(self) -> bool:
        """Whether the loaded model knows languages besides English (``tiny.en`` does not)."""
        return bool(self._require_ready().model.is_multilingual)

    def describe(self) -> dict[str, Any]:
        """The model's part of the status document."""
        ready = self.state is ModelState.READY
        return {**super().describe(), "multilingual": self.multilingual if ready else None}

    def _load_detail(self) -> str:
        return f"{self.spec.path.name}, {self.spec.compute_type}"

    def _open(self) -> None:
        """Load the model folder."""
        self._require_weights("Whisper model.bin")
        faster_whisper = _import_faster_whisper()
        device = self.spec.device
        if device == "auto":
            device = "cuda" if _cuda_available() else "cpu"
        compute_type = self.spec.compute_type
        if compute_type == "default":
            compute_type = "float16" if device == "cuda" else "int8"
        self._model = faster_whisper.WhisperModel(
            str(self.spec.path),
            device=device,
            compute_type=compute_type,
            cpu_threads=self.spec.cpu_threads or min(4, os.cpu_count() or 1),
            num_workers=self.spec.num_workers,
            local_files_only=True,
        )
        self._device = device
        self._compute_type = compute_type

    def _release(self) -> None:
        self._model = None
        self._device = None
        self._compute_type = None

    def transcribe(
        self,
        audio: np.ndarray,
        language: str = "auto",
        vad: bool = False,
        cancel: CancelToken | None = None,
        beam_size: int = 1,
        fallback: bool = True,
        words: bool = False,
    ) -> Transcript:
        """Transcribe float32 mono 16 kHz samples (see ``audio.decode_audio``); ``words``:
        time each word too (faster-whisper's ``word_timestamps``, some extra work)."""
        segments = self._decode(audio, language, vad, cancel, beam_size, fallback, words)
        while True:
            try:
                next(segments)
            except StopIteration as done:
                return cast(Transcript, done.value)

    def transcribe_iter(
        self,
        audio: np.ndarray,
        language: str = "auto",
        vad: bool = False,
        cancel: CancelToken | None = None,
        beam_size: int = 1,
        fallback: bool = True,
    ) -> Iterator[Segment | Transcript]:
        """Yield each ``Segment`` as it is decoded, then the ``Transcript``.

        ``language`` is ``"auto"`` (detect) or a Whisper language code;
        ``vad`` drops silence with Silero VAD before decoding. Raises
        ``BadRequest`` for empty audio, an unknown language, or a language an
        English-only model cannot transcribe.
        """
        transcript = yield from self._decode(audio, language, vad, cancel, beam_size, fallback)
        yield transcript

    def _decode(
        self,
        audio: np.ndarray,
        language: str,
        vad: bool,
        cancel: CancelToken | None,
        beam_size: int,
        fallback: bool = True,
        words: bool = False,
    ) -> Generator[Segment, None, Transcript]:
        """Yield each decoded ``Segment``; return the ``Transcript``."""
        model = self._require_ready()
        samples = np.asarray(audio, dtype=np.float32).reshape(-1)
        if samples.size == 0:
            raise BadRequest("the audio is empty: there is nothing to transcribe")
        code = self._language_code(model, language)
        started = time.perf_counter()
        options: dict[str, Any] = {} if fallback else {"temperature": 0.0}
        if words:
            options["word_timestamps"] = True
        pieces, info = model.transcribe(
            samples, language=code, vad_filter=vad, beam_size=beam_size, **options
        )
        segments: list[Segment] = []
        timed: list[Word] = []
        cancelled = False
        try:
            while True:
                if cancel is not None and cancel.cancelled:
                    cancelled = True
                    break
                piece = next(pieces, None)
                if piece is None:
                    break
                segment = Segment(
                    start=piece.start,
                    end=piece.end,
                    text=piece.text.strip(),
                    seek=int(piece.seek),
                    tokens=tuple(piece.tokens),
                    temperature=float(piece.temperature or 0.0),
                    avg_logprob=float(piece.avg_logprob),
                    compression_ratio=float(piece.compression_ratio),
                    no_speech_prob=float(piece.no_speech_prob),
                )
                segments.append(segment)
                timed += [
                    Word(w.word.strip(), float(w.start), float(w.end)) for w in piece.words or ()
                ]
                yield segment
        finally:
            pieces.close()
        return Transcript(
            text=" ".join(s.text for s in segments if s.text),
            segments=segments,
            language=info.language,
            language_probability=float(info.language_probability),
            duration=float(info.duration),
            timings={"transcribe_ms": (time.perf_counter() - started) * 1000},
            cancelled=cancelled,
            model=self.name,
            words=timed,
        )

    def transcribe_windows(self, windows: list[Window]) -> list[Transcript]:
        """Decode short live windows in one call (``window.decode_windows``).

        A ``final`` window whose quick decode looks wrong is decoded again
        with ``transcribe`` (30 s window, temperature fallback).
        """
        model = self._require_ready()
        for window in windows:
            if window.language is not None:
                self._language_code(model, window.language)  # BadRequest for an unknown one
        transcripts = []
        for window, heard in zip(windows, decode_windows(model, windows), strict=True):
            if heard.suspect:
                transcripts.append(self.transcribe(window.audio, window.language or "auto"))
                continue
            duration = window.audio.size / SAMPLE_RATE
            transcripts.append(
                Transcript(
                    text=heard.text,
                    segments=[Segment(0.0, duration, heard.text)] if heard.text else [],
                    language=heard.language,
                    language_probability=heard.language_probability,
                    duration=duration,
                    timings={"transcribe_ms": heard.decode_ms},
                    model=self.name,
                )
            )
        return transcripts

    def _language_code(self, model: Any, language: str) -> str | None:
        """``"auto"`` -> None (faster-whisper detects); otherwise a code the model knows."""
        if language == "auto":
            return None
        if language in model.supported_languages:
            return language
        if not model.model.is_multilingual:
            raise BadRequest(
                f"model {self.name!r} is English-only; it cannot transcribe language "
                f"{language!r}. Use language 'en' or 'auto', or configure a multilingual "
                "Whisper model"
            )
        raise BadRequest(
            f"unknown language {language!r}; use 'auto' or a Whisper language code "
            "such as 'en' or 'ru'"
        )

    def _require_ready(self) -> Any:
        model = self._model
        if self.state is not ModelState.READY or model is None:
            raise EngineError(f"model {self.name!r} is {self.state.value}, not ready")
        return model
