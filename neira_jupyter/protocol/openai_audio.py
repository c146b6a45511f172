"""``POST v1/audio/transcriptions``: the form it takes, and the subtitle formats it answers.

Every form field of OpenAI's ``CreateTranscriptionRequest`` is declared.
Honoured: ``model`` (a listed speech model or ``whisper-1``, the alias of
the configured one), ``language`` (or a ``languages`` list of one),
``response_format`` (``json``, ``text``, ``verbose_json``, ``srt``,
``vtt``), ``chunking_strategy: "auto"`` (skip silence with the voice
activity detector), ``timestamp_granularities`` (``segment``; ``word``
needs ``verbose_json``). Accepted at their no-op values only: ``temperature``
0 (Whisper starts greedy and falls back by itself), an empty ``prompt``,
``include``, ``keywords``, ``known_speaker_*``, ``stream`` false; anything
else is a ``ValueError`` that names the field and why. Form values are
strings; list fields arrive as repeated ``name[]`` parts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal, Protocol

from pydantic import Field, model_validator

from .base import LANGUAGES, WireModel
from .openai_messages import MAX_NAME_CHARS, ModelName
from .speech import Flag, TranscribeOptions

SPEECH_ALIAS = "whisper-1"
"""The model name most OpenAI clients send for transcriptions: the configured speech model."""

MAX_LIST = 16
ShortText = Annotated[str, Field(max_length=MAX_NAME_CHARS)]
ShortList = Annotated[list[ShortText], Field(max_length=MAX_LIST)]
Granularity = Literal["word", "segment"]
AudioFormat = Literal["json", "text", "verbose_json", "srt", "vtt", "diarized_json"]


LIST_FIELDS = frozenset(
    {"languages", "timestamp_granularities", "include", "keywords", "known_speaker_names",
     "known_speaker_references"}
)  # fmt: skip
"""The form fields that are lists: one part of such a name is a list of one."""


class TranscriptionRequest(WireModel):
    """The form fields of ``POST v1/audio/transcriptions`` (the audio is the ``file`` part)."""

    model: ModelName
    language: str | None = Field(None, max_length=16, description="en, ru or empty (detect).")
    languages: ShortList | None = Field(None, description="At most one language.")
    response_format: AudioFormat = "json"
    timestamp_granularities: list[Granularity] | None = Field(None, max_length=2)
    chunking_strategy: str | None = Field(None, description="'auto': skip silence (VAD).")
    temperature: float | None = Field(None, description="Accepted only as 0.")
    prompt: str | None = Field(None, description="Accepted only empty.")
    include: ShortList | None = Field(None, description="Accepted only empty.")
    keywords: ShortList | None = Field(None, description="Accepted only empty.")
    known_speaker_names: ShortList | None = Field(None, description="Accepted only empty.")
    known_speaker_references: ShortList | None = Field(None, description="Accepted only empty.")
    stream: Flag | None = Field(None, description="Accepted only as false.")
    neira_correct: Flag = Field(
        False, description="Also correct the transcript with the LLM; 'text' is then corrected."
    )

    @model_validator(mode="after")
    def _supported(self) -> TranscriptionRequest:
        if self.languages:
            if len(self.languages) > 1 or self.language not in (None, "", self.languages[0]):
                raise ValueError("field 'languages' must name one language (or leave it out)")
            self.language = self.languages[0]
        if self.language not in (None, "", *LANGUAGES):
            known = ", ".join(code for code in LANGUAGES if code != "auto")
            raise ValueError(
                f"field 'language' is {self.language!r}; this server knows {known} "
                "(leave it out to detect)"
            )
        if self.response_format == "diarized_json":
            raise ValueError(
                "field 'response_format' is 'diarized_json', which needs speaker diarization; "
                "use 'json', 'text', 'verbose_json', 'srt' or 'vtt'"
            )
        if self.timestamp_granularities and self.response_format != "verbose_json":
            raise ValueError(
                "field 'timestamp_granularities' needs response_format 'verbose_json'"
            )
        if "word" in (self.timestamp_granularities or ()):
            raise ValueError(
                "field 'timestamp_granularities' asks for 'word', which this server does not "
                "time yet; ask for 'segment' or leave it out"
            )
        if self.chunking_strategy not in (None, "", "auto"):
            raise ValueError("field 'chunking_strategy' must be 'auto' (skip silence) or left out")
        if self.temperature not in (None, 0.0):
            raise ValueError(
                "field 'temperature' is not supported: decoding starts greedy (0) and raises "
                "the temperature by itself where a window decodes badly; send 0 or leave it out"
            )
        for name in ("prompt", "include", "keywords", "known_speaker_names",
                     "known_speaker_references"):  # fmt: skip
            if getattr(self, name):
                raise ValueError(f"field '{name}' is not supported; leave it out")
        if self.stream:
            raise ValueError(
                "field 'stream' is not supported here; live audio streams through "
                "the WebSocket neira/api/transcribe/stream"
            )
        return self

    @property
    def verbose(self) -> bool:
        return self.response_format == "verbose_json"

    def options(self) -> TranscribeOptions:
        return TranscribeOptions(
            language=self.language or "auto",
            correct=self.neira_correct,
            vad=self.chunking_strategy == "auto",
        )


class Timed(Protocol):
    """What a subtitle cue is made of (a transcript segment)."""

    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def text(self) -> str: ...


def _stamp(seconds: float, decimal: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    whole, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{decimal}{millis:03d}"


def subtitles(segments: Iterable[Timed], kind: Literal["srt", "vtt"]) -> str:
    """The segments as SubRip (numbered cues, ``00:00:01,500``) or WebVTT (``WEBVTT`` header,
    ``00:00:01.500``); a cue's text never holds a blank line (it would end the cue)."""
    decimal = "," if kind == "srt" else "."
    cues: list[str] = []
    for segment in segments:
        text = "\n".join(line for line in segment.text.strip().splitlines() if line.strip())
        if not text:
            continue
        timing = f"{_stamp(segment.start, decimal)} --> {_stamp(segment.end, decimal)}"
        cue = f"{timing}\n{text}\n"
        cues.append(f"{len(cues) + 1}\n{cue}" if kind == "srt" else cue)
    body = "\n".join(cues)
    return body if kind == "srt" else "WEBVTT\n\n" + body


SUBTITLE_TYPES = {"srt": "application/x-subrip; charset=utf-8", "vtt": "text/vtt; charset=utf-8"}
"""The Content-Type of each subtitle format."""
