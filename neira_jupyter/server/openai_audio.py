"""``POST v1/audio/transcriptions``: OpenAI's transcription route on neira's speech path.

The multipart upload (``file``, ``model``, ``language``, ``response_format``)
goes through ``TranscribeHandler``'s parsing, size limits (``max_audio_bytes``,
``max_audio_seconds``) and ``hear`` (decode, Whisper, optional correction).
``neira_correct=true`` also corrects the transcript with the LLM: ``text`` is
then the corrected text and ``neira_correction`` holds the raw text, the
changes and whether it degraded. ``response_format=text`` answers plain text.
"""

from __future__ import annotations

import asyncio

from tornado import web

from ..engine.types import EngineError
from ..protocol.openai import TranscriptionRequest
from ..protocol.openai_answers import Transcription, TranscriptionSegment
from .base import parse_body
from .openai import OpenAIHandler
from .speech import Heard, TranscribeHandler
from .wire import correct_result


def transcription(heard: Heard, verbose: bool) -> Transcription:
    """The ``json`` (or ``verbose_json``) answer for a transcription."""
    transcript, correction, _decode_ms, _total_ms = heard
    text = correction.corrected if correction is not None else transcript.text
    segments = None
    if verbose:
        segments = [
            TranscriptionSegment(id=i, start=s.start, end=s.end, text=s.text)
            for i, s in enumerate(transcript.segments)
        ]
    return Transcription(
        text=text,
        task="transcribe" if verbose else None,
        language=transcript.language if verbose else None,
        duration=transcript.duration if verbose else None,
        segments=segments,
        neira_correction=correct_result(correction).to_dict() if correction else None,
    )


@web.stream_request_body
class TranscriptionsHandler(OpenAIHandler, TranscribeHandler):
    """``POST v1/audio/transcriptions``: multipart ``file`` -> ``{"text": ...}`` (or text)."""

    file_field = "file"

    async def _transcribe(self) -> None:
        try:
            audio_bytes, fields = await asyncio.to_thread(self._audio_and_fields)
            fields.pop("token", None)  # jupyter-server's ?token= is authentication, not a field
            request = parse_body(TranscriptionRequest, fields)
            self.check_model(request.model, "speech")
            heard = await self.hear(audio_bytes, request.options())
        except EngineError as exc:
            self.send_engine_error(exc)
            return
        if request.response_format == "text":
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(transcription(heard, verbose=False).text)
            return
        verbose = request.response_format == "verbose_json"
        await self.reply_built(lambda: transcription(heard, verbose))
