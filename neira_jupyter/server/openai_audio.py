"""``POST v1/audio/transcriptions``: OpenAI's transcription route on neira's speech path.

The multipart upload (``file`` and the form fields of
``protocol.openai_audio.TranscriptionRequest``; list fields as repeated
``name[]`` parts) goes through ``TranscribeHandler``'s size limits
(``max_audio_bytes``, ``max_audio_seconds``) and ``hear`` (decode, Whisper,
optional correction). ``neira_correct=true`` also corrects the transcript
with the LLM: ``text`` is then the corrected text and ``neira_correction``
holds the raw text, the changes and whether it degraded.
``response_format`` ``text`` answers ``text/plain``, ``srt`` SubRip and
``vtt`` WebVTT (from the segments: raw, uncorrected timing and text).
With ``speech_local`` off, the speech model is the remote one
(``speech_remote_url``): its name and ``whisper-1`` are accepted.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tornado import httputil, web

from ..engine.types import BadRequest, EngineError
from ..protocol.openai_answers import Transcription, TranscriptionSegment
from ..protocol.openai_audio import (
    LIST_FIELDS,
    SUBTITLE_TYPES,
    TranscriptionRequest,
    subtitles,
)
from .base import parse_body
from .openai import OpenAIHandler
from .speech import Heard, TranscribeHandler
from .wire import correct_result

TEXT_TYPE = "text/plain; charset=utf-8"


def transcription(heard: Heard, verbose: bool) -> Transcription:
    """The ``json`` (or ``verbose_json``) answer for a transcription."""
    transcript, correction, _decode_ms, _total_ms = heard
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
        neira_correction=correct_result(correction).to_dict() if correction else None,
    )


@web.stream_request_body
class TranscriptionsHandler(OpenAIHandler, TranscribeHandler):
    """``POST v1/audio/transcriptions``: multipart ``file`` -> ``{"text": ...}`` (or text)."""

    file_field = "file"

    def _audio_and_fields(self) -> tuple[bytes, dict[str, Any]]:
        """The ``file`` part and the form fields; ``name[]`` parts (and repeated names) as lists."""
        if self._content_type() != "multipart/form-data":
            return super()._audio_and_fields()
        args: dict[str, list[bytes]] = {}
        files: dict[str, list[httputil.HTTPFile]] = {}
        try:
            httputil.parse_body_arguments(
                self.request.headers.get("Content-Type", ""), bytes(self._body), args, files
            )
        except httputil.HTTPInputError as exc:
            raise BadRequest(f"the multipart upload is malformed: {exc}") from None
        query = self.request.query_arguments
        fields: dict[str, Any] = {k: self.get_query_argument(k) for k in query}
        for key, values in args.items():
            texts = [value.decode("utf-8", "replace") for value in values]
            name = key.removesuffix("[]")
            listed = key.endswith("[]") or name in LIST_FIELDS or len(texts) > 1
            fields[name] = texts if listed else texts[0]
        uploads = files.get(self.file_field)
        if not uploads:
            raise BadRequest(f"multipart upload has no file field named {self.file_field!r}")
        if not uploads[0]["body"]:
            raise BadRequest(f"no audio received; the {self.file_field!r} part is empty")
        return uploads[0]["body"], fields

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
        kind = request.response_format
        if kind == "text":
            self.finish(transcription(heard, verbose=False).text, set_content_type=TEXT_TYPE)
        elif kind == "srt" or kind == "vtt":
            body = await asyncio.to_thread(subtitles, heard[0].segments, kind)
            self.finish(body, set_content_type=SUBTITLE_TYPES[kind])
        else:
            await self.reply_built(lambda: transcription(heard, request.verbose))
