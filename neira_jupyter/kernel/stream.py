"""A streamed answer read by a background thread: events in a queue, hang-up on close.

A reader thread owns the HTTP response and parses each NDJSON (or SSE
``data:``) line into a protocol event; the caller's thread only waits on a
queue. So an interrupt (KeyboardInterrupt from SIGINT) in the caller never
lands inside the HTTP reader. ``EventStream`` reads any of the API's streams
(a streamed transcription's ``TranscribeEvent``); ``GenerationStream`` is a
generation's, which after a cancel can still be read to the server's final
``done`` event (``drain``).
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from pydantic import TypeAdapter, ValidationError

from ..protocol import (
    CorrectedMessage,
    DoneEvent,
    ErrorEvent,
    GenerateEvent,
    StartEvent,
    TokenEvent,
    TranscribedEvent,
    TranscribeDoneEvent,
    TranscribeEvent,
)
from .errors import NeiraError, NeiraHTTPError, degraded, queue_full

if TYPE_CHECKING:
    import httpx

Event = StartEvent | TokenEvent | DoneEvent
"""What iterating a generation's stream yields; an ``error`` event is raised instead."""

TranscriptionEvent = TranscribedEvent | CorrectedMessage | TranscribeDoneEvent
"""What iterating a streamed transcription yields; an ``error`` event is raised instead."""

E = TypeVar("E")

_EVENT: TypeAdapter[Any] = TypeAdapter(GenerateEvent)
TRANSCRIPTION_EVENTS: TypeAdapter[Any] = TypeAdapter(TranscribeEvent)


def parse_event(line: str | bytes, events: TypeAdapter[Any] = _EVENT) -> Any:
    """One line of a stream as a typed event (of ``events``: a generation's by default);
    an ``error`` event raises its error."""
    try:
        event = events.validate_json(line)
    except ValidationError as exc:
        text = line if isinstance(line, str) else line.decode("utf-8", "replace")
        raise NeiraHTTPError(
            502, f"unexpected message from the server: {text[:200]!r} ({exc})"
        ) from None
    if isinstance(event, ErrorEvent):
        raise error_from_event(event)
    return event


def error_from_event(event: ErrorEvent) -> NeiraError:
    """The client error for an in-band ``error`` event."""
    if event.status == 503:
        return degraded(event.message, None)
    if event.status == 429:
        return queue_full(event.message, event.retry_after)
    return NeiraHTTPError(event.status, event.message)


class EventStream(Generic[E]):
    """An open streamed answer: iterate for its events, ``close()`` to hang up (the server
    cancels the work of a client that went away).

    ``events`` types each line; the stream ends after an event of type ``last``.
    """

    def __init__(
        self, response: httpx.Response, events: TypeAdapter[Any], last: type[Any], name: str
    ) -> None:
        self._response = response
        self._parse = events
        self._last = last
        self.closed = False
        self.finished = False
        self._events: queue.Queue[E | NeiraError | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name=name, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """Reader thread: parse lines until the last event, an error or the end of the body."""
        import httpx

        try:
            for raw in self._response.iter_lines():
                line = raw.strip()
                if line.startswith("data:"):  # tolerate SSE framing
                    line = line[5:].strip()
                if not line:
                    continue
                event = cast(E, parse_event(line, self._parse))
                self._events.put(event)
                if isinstance(event, self._last):
                    break
        except NeiraError as exc:
            self._events.put(exc)
        except (OSError, httpx.HTTPError) as exc:
            if not self.closed:
                self._events.put(NeiraHTTPError(502, f"the connection to the server broke: {exc}"))
        finally:
            self._events.put(None)

    def next_event(self, timeout: float | None = None) -> E | None:
        """The next event; None at the end of the stream. Raises the stream's error, or
        ``TimeoutError`` when nothing arrives within ``timeout`` seconds."""
        if self.finished:
            return None
        try:
            item = self._events.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no answer within {timeout} s") from None
        if item is None:
            self.finished = True
            return None
        if isinstance(item, NeiraError):
            self.finished = True
            raise item
        return item

    def __iter__(self) -> Iterator[E]:
        while (event := self.next_event()) is not None:
            yield event

    def close(self) -> None:
        """Hang up (the server cancels the work of a client that went away)."""
        if self.closed:
            return
        self.closed = True
        stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the reader thread up
        self._reader.join(timeout=2.0)
        self._response.close()

    def __enter__(self) -> EventStream[E]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class GenerationStream(EventStream[Event]):
    """An open streaming generation, up to its ``done`` event.

    Closing the connection also cancels the generation on the server; an
    explicit ``NeiraClient.cancel(request_id)`` does it without waiting for the
    server to notice the closed socket.
    """

    def __init__(self, response: httpx.Response, request_id: str) -> None:
        self.request_id = request_id
        super().__init__(response, _EVENT, DoneEvent, f"neira-stream-{request_id}")

    def drain(self, timeout: float) -> DoneEvent | None:
        """After a cancel: read what is left, up to the server's final ``done`` event.

        Gives up (None) when nothing arrives for ``timeout`` seconds or the stream breaks.
        """
        try:
            while (event := self.next_event(timeout)) is not None:
                if isinstance(event, DoneEvent):
                    return event
        except (NeiraError, TimeoutError):
            return None
        return None
