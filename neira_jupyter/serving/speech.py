"""Serving the speech requests: a whole-file transcription and a transcript correction.

``hear`` decodes an upload (a container format, or raw 16 kHz s16le PCM)
off the event loop, transcribes it on the speech lane and, when asked,
corrects it with the LLM; ``correct_text`` checks ``CorrectRequest`` against
the server's limits and corrects. ``transcription`` is OpenAI's answer for
``v1/audio/transcriptions``; neira's (``transcribe_result``) is in ``wire``.
The live stream (``engine.transcription.speech.StreamingRecognizer``) is driven by its
socket handler, message by message.
"""

from __future__ import annotations

import asyncio
import time
from typing import NamedTuple

from ..engine.correct import Correction
from ..engine.service import NeiraEngine
from ..engine.speech import Transcript, decode_audio, pcm16le_to_float
from ..engine.types import BadRequest
from ..protocol import CorrectRequest, TranscribeOptions
from ..protocol.openai_answers import Transcription, TranscriptionSegment, TranscriptionWord
from .limits import RequestLimits
from .wire import correct_result


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


async def correct_text(
    engine: NeiraEngine, user: str, request: CorrectRequest, limits: RequestLimits
) -> Correction:
    """Correct ``request.text`` (within ``max_prompt_chars``); degraded, never lost."""
    limit = limits.max_prompt_chars
    if len(request.text) > limit:
        raise BadRequest(
            f"field 'text' is {len(request.text)} characters long; the limit is {limit}"
        )
    return await engine.correct(user, request.text, request.language)


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
