"""``POST v1/audio/transcriptions``: OpenAI's transcription route on neira's speech path.

The multipart upload (``file`` and the form fields of
``protocol.openai_audio.TranscriptionRequest``; list fields as repeated
``name[]`` parts) has the size limits of ``api/transcribe``
(``max_audio_bytes``, ``max_audio_seconds``) and is served by
``serving.speech.hear`` (decode, Whisper, optional correction).
``neira_correct=true`` also corrects the transcript with the LLM: ``text``
is then the corrected text and ``neira_correction`` holds the raw text, the
changes and whether it degraded.
``response_format`` ``text`` answers ``text/plain``, ``srt`` SubRip and
``vtt`` WebVTT (from the segments: raw, uncorrected timing and text).
With ``speech_local`` off, the speech model is the remote one
(``speech_remote_url``): its name and ``whisper-1`` are accepted.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import httputil, web

from ..engine.types import BadRequest, EngineError
from ..protocol.openai_audio import (
    LIST_FIELDS,
    SUBTITLE_TYPES,
    TranscriptionRequest,
    subtitles,
)
from ..serving.models import check_model
from ..serving.speech import hear, transcription
from .base import parse_body
from .openai import OpenAIHandler
from .speech import audio_upload, media_type

TEXT_TYPE = "text/plain; charset=utf-8"


@web.stream_request_body
class TranscriptionsHandler(OpenAIHandler):
    """``POST v1/audio/transcriptions``: multipart ``file`` -> ``{"text": ...}`` (or text)."""

    body_limit_name = "max_audio_bytes"
    file_field = "file"

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        await self.until_disconnect(self._transcribe())

    def _audio_and_fields(self) -> tuple[bytes, dict[str, Any]]:
        """The ``file`` part and the form fields; ``name[]`` parts (and repeated names) as lists."""
        if media_type(self) != "multipart/form-data":
            return audio_upload(self, bytes(self._body), self.file_field)
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
            check_model(self.engine, request.model, "speech")
            pcm = media_type(self) == "audio/l16"
            heard = await hear(
                self.engine,
                self.username,
                audio_bytes,
                request.options(),
                self.limits,
                pcm,
                words=request.words,
            )
        except EngineError as exc:
            self.send_engine_error(exc)
        kind = request.response_format
        if kind == "text":
            self.finish(transcription(heard, verbose=False).text, set_content_type=TEXT_TYPE)
        elif kind == "srt" or kind == "vtt":
            body = await asyncio.to_thread(subtitles, heard.transcript.segments, kind)
            self.finish(body, set_content_type=SUBTITLE_TYPES[kind])
        else:
            await self.reply_built(lambda: transcription(heard, request.verbose, request.words))
