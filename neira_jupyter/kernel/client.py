"""The kernel's client for the neira server API (``docs/api.md``), on httpx.

``NeiraClient.discover()`` finds the server (``kernel.discovery``); each
method sends one request (``kernel.transport``) and parses the answer with
the protocol models, so a drift between server and client fails here
rather than in the user's notebook. ``generate`` returns a
``GenerationStream`` (``kernel.stream``) of ``StartEvent``, ``TokenEvent``
and ``DoneEvent``; ``transcribe_stream`` an ``EventStream`` of a streamed
transcription's events. Failures are the typed errors of ``kernel.errors``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import ConfigDict, Field, ValidationError, model_validator

from ..protocol import (
    ChatMessage,
    CorrectRequest,
    CorrectResult,
    DoneEvent,
    GenerateResult,
    Language,
    ProtocolError,
    RequestId,
    StartEvent,
    StatusDocument,
    TokenEvent,
    TranscribeDoneEvent,
    TranscribeResult,
    WireModel,
    parse,
)
from ..protocol import GenerateRequest as _WireGenerateRequest
from .discovery import find_server, server_url_from_info
from .errors import (
    DegradedError,
    ModelLoading,
    NeiraError,
    NeiraHTTPError,
    QueueFullError,
    ServerNotFound,
    describe_loading,
)
from .stream import (
    TRANSCRIPTION_EVENTS,
    Event,
    EventStream,
    GenerationStream,
    TranscriptionEvent,
    parse_event,
)
from .transport import Transport

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ChatMessage",
    "DegradedError",
    "DoneEvent",
    "GenerateEvent",
    "GenerateRequest",
    "GenerationStream",
    "ModelLoading",
    "NeiraClient",
    "NeiraError",
    "NeiraHTTPError",
    "QueueFullError",
    "ServerNotFound",
    "StartEvent",
    "TokenEvent",
    "new_request_id",
    "parse_event",
    "server_url_from_info",
]

GenerateEvent = Event

AUDIO_TYPES: dict[str, str] = {
    ".wav": "audio/wav",
    ".wave": "audio/wav",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".webm": "audio/webm",
    ".m4a": "audio/mp4",
    ".pcm": "audio/L16",
}


def new_request_id() -> str:
    """A fresh request id matching the API's ``[A-Za-z0-9_-]{1,64}``."""
    return "k" + uuid.uuid4().hex


class GenerateRequest(_WireGenerateRequest):
    """``protocol.GenerateRequest`` built up field by field, with a request id chosen here
    (so the kernel can cancel). Assignments are validated; the whole request is checked
    against the protocol when it is sent."""

    model_config = ConfigDict(validate_assignment=True)

    request_id: RequestId = Field(default_factory=new_request_id)

    @model_validator(mode="after")
    def _one_prompt(self) -> GenerateRequest:
        return self  # checked by ``to_json``, once prompt or messages are set

    def to_json(self) -> str:
        """The body (unset fields are left to the server's defaults), checked as the wire
        ``GenerateRequest``; ``NeiraError`` says what is wrong."""
        body = self.model_dump_json(exclude_none=True)
        try:
            parse(_WireGenerateRequest, body)
        except ProtocolError as exc:
            raise NeiraError(f"cannot send this request: {exc}") from None
        return body


def _parse(model: type[WireModel], response: httpx.Response, what: str) -> Any:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise NeiraHTTPError(502, f"the {what} answer does not match the protocol: {exc}") from None


def _audio_request(
    audio: str | os.PathLike[str] | bytes,
    language: Language,
    correct: bool,
    vad: bool,
    content_type: str | None,
) -> tuple[bytes, dict[str, str], dict[str, str]]:
    """The body, headers and query of ``POST api/transcribe`` for ``audio`` (a path or
    bytes; a path's suffix names its type unless ``content_type`` does)."""
    if isinstance(audio, bytes):
        data = audio
        ctype = content_type or "application/octet-stream"
    else:
        path = Path(audio).expanduser()
        data = path.read_bytes()
        ctype = content_type or AUDIO_TYPES.get(path.suffix.lower(), "application/octet-stream")
    query = {"language": language, "correct": "true" if correct else "false"}
    if vad:
        query["vad"] = "true"
    return data, {"Content-Type": ctype}, query


class NeiraClient:
    """Talks to ``{base_url}neira/api/`` of one Jupyter server."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        read_timeout: float | None = 600.0,
        source: str = "",
    ) -> None:
        self._transport = Transport(
            base_url,
            token,
            timeout=timeout,
            read_timeout=read_timeout,
            source=source or "given URL",
        )
        self.base_url = self._transport.base_url
        self.token = self._transport.token
        self.source = self._transport.source

    def __repr__(self) -> str:
        return f"NeiraClient({self.base_url!r}, source={self.source!r})"

    @classmethod
    def discover(
        cls,
        environ: Mapping[str, str] | None = None,
        runtime_dir: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> NeiraClient:
        """Find the server: ``NEIRA_URL``/``NEIRA_TOKEN``, else ``JPY_PARENT_PID``'s file."""
        info = find_server(environ, runtime_dir)
        return cls(info.url, info.token, source=info.source, **kwargs)

    def close(self) -> None:
        """Let go of the HTTP client (streams still open keep their own connection)."""
        self._transport.close()

    def __enter__(self) -> NeiraClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ----------------------------------------------------------------- API

    def status_document(self) -> StatusDocument:
        """``GET api/status`` as a ``protocol.StatusDocument``."""
        response = self._transport.send("GET", "status", read_timeout=self._transport.timeout)
        document: StatusDocument = _parse(StatusDocument, response, "status")
        return document

    def status(self) -> dict[str, Any]:
        """``GET api/status``: models, route, queue, memory (validated, as JSON data)."""
        return self.status_document().to_dict()

    def _loading(self, error: DegradedError) -> NeiraError:
        """A 503 while a model loads is ``ModelLoading``; any other stays as it was."""
        try:
            models = self.status_document().models
        except NeiraError:
            return error
        loading = [m.to_dict() for m in models if m.state == "loading"]
        return ModelLoading(describe_loading(loading), loading) if loading else error

    def generate(self, request: GenerateRequest) -> GenerationStream:
        """``POST api/generate`` with ``stream: true``; iterate the result for events."""
        request.stream = True
        try:
            response = self._transport.send(
                "POST",
                "generate",
                stream=True,
                content=request.to_json(),
                headers={"Content-Type": "application/json", "Accept": "application/x-ndjson"},
            )
        except DegradedError as exc:
            raise self._loading(exc) from None
        return GenerationStream(response, request.request_id)

    def generate_text(self, request: GenerateRequest) -> DoneEvent:
        """``POST api/generate`` with ``stream: false``: the whole answer at once
        (a ``GenerateResult``, returned as the ``DoneEvent`` a stream would end with)."""
        request.stream = False
        try:
            response = self._transport.send(
                "POST",
                "generate",
                content=request.to_json(),
                headers={"Content-Type": "application/json"},
            )
        except DegradedError as exc:
            raise self._loading(exc) from None
        result: GenerateResult = _parse(GenerateResult, response, "generate")
        return DoneEvent.model_validate(dict(result))

    def cancel(self, request_id: str) -> bool:
        """``DELETE api/requests/{id}``: True if cancelled, False if the server has no such job."""
        try:
            self._transport.send("DELETE", f"requests/{quote(request_id, safe='')}")
        except NeiraHTTPError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def transcribe(
        self,
        audio: str | os.PathLike[str] | bytes,
        *,
        language: Language = "auto",
        correct: bool = True,
        vad: bool = False,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        """``POST api/transcribe`` with the audio as the raw body (a path or bytes)."""
        data, headers, query = _audio_request(audio, language, correct, vad, content_type)
        response = self._transport.send(
            "POST", "transcribe", content=data, headers=headers, params=query
        )
        result: TranscribeResult = _parse(TranscribeResult, response, "transcribe")
        return result.to_dict()

    def transcribe_stream(
        self,
        audio: str | os.PathLike[str] | bytes,
        *,
        language: Language = "auto",
        vad: bool = False,
        content_type: str | None = None,
    ) -> EventStream[TranscriptionEvent]:
        """``POST api/transcribe`` with ``stream=true`` and the correction: iterate the result
        for ``TranscribedEvent``, a ``CorrectedMessage`` per sentence, ``TranscribeDoneEvent``;
        closing it cancels the correction on the server."""
        data, headers, query = _audio_request(audio, language, True, vad, content_type)
        response = self._transport.send(
            "POST",
            "transcribe",
            stream=True,
            content=data,
            headers={**headers, "Accept": "application/x-ndjson"},
            params={**query, "stream": "true"},
        )
        return EventStream(
            response, TRANSCRIPTION_EVENTS, TranscribeDoneEvent, "neira-transcription"
        )

    def correct(self, text: str, language: Language = "auto") -> dict[str, Any]:
        """``POST api/correct``: the corrected text and what changed."""
        body = CorrectRequest(text=text, language=language)
        response = self._transport.send(
            "POST",
            "correct",
            content=body.to_json(),
            headers={"Content-Type": "application/json"},
        )
        result: CorrectResult = _parse(CorrectResult, response, "correct")
        return result.to_dict()
