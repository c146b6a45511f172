"""Speech routes: ``POST api/transcribe``, ``POST api/correct`` and ``WS api/transcribe/stream``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from .base import ErrorEvent, Language, RequestModel, Text, WireModel

MAX_FRAME_BYTES = 64 * 1024
"""Largest binary frame on the live stream: 2 s of 16 kHz s16le audio."""

MAX_CONTROL_BYTES = 4096
"""Largest text (control) frame on the live stream."""

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _flag(value: Any) -> Any:
    """A form or query string (true/false/1/0/yes/no/on/off) as a boolean."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return value


def _language(value: Any) -> Any:
    return "auto" if value in (None, "") else value


Flag = Annotated[bool, BeforeValidator(_flag)]
LanguageOption = Annotated[Language, BeforeValidator(_language)]
SpeechRoute = Literal["local", "remote"]


class TranscribeOptions(WireModel):
    """The options of ``POST api/transcribe`` (query arguments or multipart fields)."""

    language: LanguageOption = "auto"
    correct: Flag = Field(True, description="Correct the transcript with the LLM.")
    vad: Flag = Field(False, description="Skip silence with the voice activity detector.")
    format: Literal["pcm_s16le"] | None = Field(
        None, description="pcm_s16le: the body is raw 16 kHz mono 16-bit PCM."
    )
    stream: Flag = Field(
        False,
        description="Stream events (NDJSON, or SSE with Accept: text/event-stream): the "
        "transcript as heard, each sentence's correction, then done.",
    )


class Change(WireModel):
    """One step of the word diff from raw to corrected text."""

    op: Literal["equal", "replace", "delete", "insert"]
    raw: str
    corrected: str


class CorrectTimings(WireModel):
    """Milliseconds."""

    total_ms: float | None = None


class CorrectResult(WireModel):
    """The answer of ``POST api/correct`` (and the ``correction`` of a transcript)."""

    raw: str
    corrected: str
    degraded: bool = Field(description="True when the text came back uncorrected.")
    reason: str | None = Field(description="Why it is degraded.")
    language: str
    model: str | None
    route: str | None
    changes: list[Change]
    timings: CorrectTimings


class CorrectRequest(RequestModel):
    """The body of ``POST api/correct``."""

    text: Text
    language: LanguageOption = "auto"
    stream: bool = Field(
        False,
        description="Correct sentence by sentence and stream each one's correction "
        "(NDJSON, or SSE with Accept: text/event-stream), then a done event.",
    )


class Segment(WireModel):
    """A stretch of speech; times in seconds from the start of the audio."""

    start: float
    end: float
    text: str


class TranscribeTimings(WireModel):
    """Milliseconds."""

    decode_ms: float | None = None
    transcribe_ms: float | None = None
    correct_ms: float | None = None
    total_ms: float | None = None


class HeardTranscript(WireModel):
    """What ``POST api/transcribe`` heard, before any correction."""

    raw: str = Field(description="The transcript as heard.")
    language: str
    language_probability: float
    duration: float = Field(description="Seconds of audio.")
    segments: list[Segment]
    timings: TranscribeTimings
    cancelled: bool = False
    model: str | None = Field(None, description="The speech model that heard it.")
    route: SpeechRoute = Field(
        "local", description="Who served it: local (this server's Whisper) or remote."
    )


class TranscribeResult(HeardTranscript):
    """The answer of ``POST api/transcribe``."""

    text: str = Field(description="The corrected text (raw when correct=false).")
    correction: CorrectResult | None


# -- WS api/transcribe/stream ----------------------------------------------------------


class StreamStart(RequestModel):
    """Open a stream."""

    type: Literal["start"]
    language: LanguageOption = "auto"
    correct: bool = True


class StreamStop(RequestModel):
    """End the stream and ask for the final result."""

    type: Literal["stop"]


class StreamCancel(RequestModel):
    """Drop the stream without a result."""

    type: Literal["cancel"]


StreamControl = Annotated[StreamStart | StreamStop | StreamCancel, Field(discriminator="type")]
"""A text (control) frame from the client; binary frames carry the PCM."""


class StartedMessage(WireModel):
    """The stream is open; send PCM frames."""

    type: Literal["started"] = "started"
    sample_rate: int
    max_seconds: float
    max_frame_bytes: int
    model: str


class PartialMessage(WireModel):
    """What was heard so far: settled words, then words that may still change."""

    type: Literal["partial"] = "partial"
    confirmed: str
    tentative: str
    segment: int
    audio_s: float


class CorrectedMessage(WireModel):
    """Committed segments ``[first, end)`` corrected while the stream goes on.

    ``text`` is what to show for them: the accepted correction, or their raw
    words when the guard rejected it (``degraded``, ``reason``); a rejected
    answer is never sent. ``covered_words`` counts the stream's raw words
    corrected so far: the first ``covered_words`` words of a partial's
    ``confirmed`` are shown corrected by the ``corrected`` messages so far.
    """

    type: Literal["corrected"] = "corrected"
    first: int = Field(description="The first committed segment corrected here (0-based).")
    end: int = Field(description="One past the last committed segment corrected here.")
    raw: str = Field(description="The segments' words as heard.")
    text: str = Field(description="The segments' corrected text.")
    degraded: bool = Field(description="True when the guard kept the raw words.")
    reason: str | None = Field(None, description="Why it is degraded.")
    covered_words: int = Field(description="Raw words of the stream corrected so far.")


class FinalTimings(WireModel):
    """Milliseconds after ``stop``."""

    finish_transcribe_ms: float | None = None
    correct_ms: float | None = None
    finish_ms: float | None = None


class FinalMessage(WireModel):
    """The result after ``stop``."""

    type: Literal["final"] = "final"
    raw: str
    text: str
    language: str
    duration: float
    segments: list[Segment]
    correction: CorrectResult | None
    timings: FinalTimings


StreamMessage = Annotated[
    StartedMessage | PartialMessage | CorrectedMessage | FinalMessage | ErrorEvent,
    Field(discriminator="type"),
]
"""What the server sends on ``WS api/transcribe/stream``."""


# -- POST api/correct with stream: true -------------------------------------------------


class CorrectDoneEvent(CorrectResult):
    """The last event of a streamed correction: the whole text's result."""

    type: Literal["done"] = "done"


CorrectEvent = Annotated[
    CorrectedMessage | CorrectDoneEvent | ErrorEvent, Field(discriminator="type")
]
"""What a streamed ``POST api/correct`` sends: a ``corrected`` event per piece (``first``
and ``end`` count pieces, not segments), then ``done``."""


# -- POST api/transcribe with stream=true -----------------------------------------------


class TranscribedEvent(HeardTranscript):
    """The first event of a streamed transcription: the transcript as heard (its timings
    without the correction's)."""

    type: Literal["transcribed"] = "transcribed"


class TranscribeDoneEvent(TranscribeResult):
    """The last event of a streamed transcription: the whole answer."""

    type: Literal["done"] = "done"


TranscribeEvent = Annotated[
    TranscribedEvent | CorrectedMessage | TranscribeDoneEvent | ErrorEvent,
    Field(discriminator="type"),
]
"""What a streamed ``POST api/transcribe`` sends: ``transcribed``, then with ``correct`` a
``corrected`` event per sentence of the transcript (as a streamed ``POST api/correct``
sends them), then ``done``."""
