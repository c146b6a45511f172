"""Serving the speech requests: a whole-file transcription and a transcript correction.

``hear`` decodes an upload (a container format, or raw 16 kHz s16le PCM)
off the event loop, transcribes it on the speech lane and, when asked,
corrects it with the LLM; ``correct_text`` checks ``CorrectRequest`` against
the server's limits and corrects, ``correct_events`` does it sentence by
sentence for a streamed answer (``corrected`` events, then ``done``).
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
from ..protocol import CorrectDoneEvent, CorrectRequest, TranscribeOptions, WireModel
from ..protocol.openai_answers import Transcription, TranscriptionSegment, TranscriptionWord
from .limits import RequestLimits
from .wire import correct_result, corrected_message


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
    """Decode, transcribe and (when asked) correct; ``pcm``: the bytes are raw s16le PCM
    (also when ``options.format`` says so); ``words``: time each word."""
    pcm = pcm or options.format == "pcm_s16le"
    decode = pcm16le_to_float if pcm else decode_audio
    started = time.perf_counter()
    # decoding is CPU work: keep it off the event loop
    audio = await asyncio.to_thread(decode, audio_bytes, max_seconds=limits.max_audio_seconds)
    decode_ms = (time.perf_counter() - started) * 1000
    transcript = await engine.transcribe(user, audio, options.language, options.vad, words=words)
    correction = None
    if options.correct:
        correction = await engine.correct(
            user, transcript.text, transcript.language or options.language
        )
    return Heard(transcript, correction, decode_ms, (time.perf_counter() - started) * 1000)


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


async def correct_events(
    engine: NeiraEngine, user: str, request: CorrectRequest
) -> AsyncGenerator[WireModel, None]:
    """``request.text`` corrected piece by piece (``sentence_pieces``, each with the previous
    piece's correction as context): a ``corrected`` event per piece, then ``done`` with the
    pieces' corrections joined by the text's own whitespace. Check the text first
    (``check_text``)."""
    pieces = await asyncio.to_thread(sentence_pieces, request.text)
    correct = functools.partial(engine.correct, user)
    parts: list[CorrectedSegments] = []
    events = correct_in_pieces(correct, [p for p, _ in pieces], request.language, Latency.NORMAL)
    async for part in events:
        parts.append(part)
        yield corrected_message(part)
    joined = join_corrections(request.text, parts)
    joined.corrected = "".join(
        part.correction.corrected + space
        for part, (_, space) in zip(parts, pieces, strict=True)
    )
    joined.changes = await asyncio.to_thread(word_diff, request.text, joined.corrected)
    yield CorrectDoneEvent.model_validate(correct_result(joined).model_dump())


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
