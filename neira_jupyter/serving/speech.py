"""Serving the speech requests: a whole-file transcription and a transcript correction.

``hear`` decodes an upload (a container format, or raw 16 kHz s16le PCM)
off the event loop, transcribes it on the speech lane and, when asked,
corrects it with the LLM; with ``stream``, ``transcribe_events`` corrects it
instead and streams it (``transcribed``, the transcript corrected sentence
by sentence, ``done``).
``correct_text`` checks ``CorrectRequest`` against the server's limits and
corrects; ``correct_events`` does it sentence by sentence for a streamed
answer (``corrected`` events, then ``done``), through ``piece_corrections``
as ``transcribe_events`` does.
``transcription`` is OpenAI's answer for ``v1/audio/transcriptions``;
neira's (``transcribe_result``) is in ``wire``. The live stream is
``speech_session.LiveSession``'s.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncGenerator
from typing import NamedTuple

from ..engine.correct import Correction, word_diff
from ..engine.service import NeiraEngine
from ..engine.speech import (
    CorrectedSegments,
    Transcript,
    correct_in_pieces,
    decode_audio,
    join_corrections,
    pcm16le_to_float,
    sentence_pieces,
)
from ..engine.types import BadRequest, Latency
from ..protocol import (
    CorrectDoneEvent,
    CorrectRequest,
    TranscribeDoneEvent,
    TranscribeOptions,
    WireModel,
)
from ..protocol.openai_answers import Transcription, TranscriptionSegment, TranscriptionWord
from .limits import RequestLimits
from .wire import correct_result, corrected_message, transcribe_result, transcribed_event


class Heard(NamedTuple):
    """A transcription: the transcript, its correction, decode and total milliseconds."""

    transcript: Transcript
    correction: Correction | None
    decode_ms: float
    total_ms: float


async def hear(
    engine: NeiraEngine,
    user: str,
    audio_bytes: bytes,
    options: TranscribeOptions,
    limits: RequestLimits,
    pcm: bool = False,
    words: bool = False,
) -> Heard:
    """Decode, transcribe and (with ``options.correct``, unless ``options.stream``: then
    ``transcribe_events`` corrects) correct; ``pcm``: the bytes are raw s16le PCM (also
    when ``options.format`` says so); ``words``: time each word."""
    pcm = pcm or options.format == "pcm_s16le"
    decode = pcm16le_to_float if pcm else decode_audio
    started = time.perf_counter()
    # decoding is CPU work: keep it off the event loop
    audio = await asyncio.to_thread(decode, audio_bytes, max_seconds=limits.max_audio_seconds)
    decode_ms = (time.perf_counter() - started) * 1000
    transcript = await engine.transcribe(user, audio, options.language, options.vad, words=words)
    correction = None
    if options.correct and not options.stream:
        correction = await engine.correct(
            user, transcript.text, transcript.language or options.language
        )
    return Heard(transcript, correction, decode_ms, (time.perf_counter() - started) * 1000)


async def transcribe_events(
    engine: NeiraEngine, user: str, heard: Heard, options: TranscribeOptions
) -> AsyncGenerator[WireModel, None]:
    """A streamed transcription of what ``hear`` heard: ``transcribed``, then (with
    ``options.correct``) the transcript corrected piece by piece as ``correct_events``
    does it, then ``done`` with the whole answer."""
    begun = time.perf_counter()
    transcript = heard.transcript
    yield transcribed_event(transcript, heard.decode_ms, heard.total_ms)
    correction: Correction | None = None
    if options.correct:
        language = transcript.language or options.language
        async for part in piece_corrections(engine, user, transcript.text, language):
            if isinstance(part, Correction):
                correction = part
            else:
                yield corrected_message(part)
    total_ms = heard.total_ms + (time.perf_counter() - begun) * 1000
    result = await asyncio.to_thread(
        transcribe_result, transcript, correction, heard.decode_ms, total_ms
    )
    yield TranscribeDoneEvent.model_validate(result.model_dump())


def check_text(request: CorrectRequest, limits: RequestLimits) -> None:
    """Refuse a text longer than ``max_prompt_chars``."""
    limit = limits.max_prompt_chars
    if len(request.text) > limit:
        raise BadRequest(
            f"field 'text' is {len(request.text)} characters long; the limit is {limit}"
        )


async def correct_text(
    engine: NeiraEngine, user: str, request: CorrectRequest, limits: RequestLimits
) -> Correction:
    """Correct ``request.text`` (within ``max_prompt_chars``); degraded, never lost."""
    check_text(request, limits)
    return await engine.correct(user, request.text, request.language)


async def piece_corrections(
    engine: NeiraEngine, user: str, text: str, language: str
) -> AsyncGenerator[CorrectedSegments | Correction, None]:
    """``text`` corrected piece by piece (``sentence_pieces``, each with the previous
    piece's correction as context): each piece's correction as soon as it is done, then
    the whole text's, the pieces' corrections joined by the text's own whitespace."""
    pieces = await asyncio.to_thread(sentence_pieces, text)
    if not pieces:  # no words: the whole (empty) text's correction, as unstreamed
        yield await engine.correct(user, text, language)
        return
    correct = functools.partial(engine.correct, user)
    parts: list[CorrectedSegments] = []
    events = correct_in_pieces(correct, [p for p, _ in pieces], language, Latency.NORMAL)
    async for part in events:
        parts.append(part)
        yield part
    joined = join_corrections(text, parts)
    joined.corrected = "".join(
        part.correction.corrected + space
        for part, (_, space) in zip(parts, pieces, strict=True)
    )
    joined.changes = await asyncio.to_thread(word_diff, text, joined.corrected)
    yield joined


async def correct_events(
    engine: NeiraEngine, user: str, request: CorrectRequest
) -> AsyncGenerator[WireModel, None]:
    """``request.text`` corrected piece by piece (``piece_corrections``): a ``corrected``
    event per piece, then ``done`` with the whole text's correction. Check the text first
    (``check_text``)."""
    async for part in piece_corrections(engine, user, request.text, request.language):
        if isinstance(part, Correction):
            yield CorrectDoneEvent.model_validate(correct_result(part).model_dump())
        else:
            yield corrected_message(part)


def transcription(heard: Heard, verbose: bool, words: bool = False) -> Transcription:
    """OpenAI's ``json`` (or ``verbose_json``) answer for a transcription; ``words``: with
    each word's timing (``verbose_json``'s ``words``)."""
    transcript, correction = heard.transcript, heard.correction
    text = correction.corrected if correction is not None else transcript.text
    segments = None
    if verbose:
        segments = [
            TranscriptionSegment(
                id=i,
                seek=s.seek,
                start=s.start,
                end=s.end,
                text=s.text,
                tokens=list(s.tokens),
                temperature=s.temperature,
                avg_logprob=s.avg_logprob,
                compression_ratio=s.compression_ratio,
                no_speech_prob=s.no_speech_prob,
            )
            for i, s in enumerate(transcript.segments)
        ]
    return Transcription(
        text=text,
        task="transcribe" if verbose else None,
        language=transcript.language if verbose else None,
        duration=transcript.duration if verbose else None,
        segments=segments,
        words=[TranscriptionWord(word=w.word, start=w.start, end=w.end) for w in transcript.words]
        if verbose and words
        else None,
        neira_correction=correct_result(correction).to_dict() if correction else None,
    )
