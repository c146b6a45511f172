"""A streaming generation read by a background thread: events in a queue, hang-up on close.

A reader thread owns the HTTP response and parses each NDJSON (or SSE
``data:``) line into a protocol event; the caller's thread only waits on a
queue. So an interrupt (KeyboardInterrupt from SIGINT) in the caller never
lands inside the HTTP reader, and after a cancel the same stream can still
be read to the server's final ``done`` event (``drain``).
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING

from pydantic import TypeAdapter, ValidationError

from ..protocol import DoneEvent, ErrorEvent, GenerateEvent, StartEvent, TokenEvent
from .errors import NeiraError, NeiraHTTPError, degraded, queue_full

if TYPE_CHECKING:
    import httpx

Event = StartEvent | TokenEvent | DoneEvent
"""What iterating a stream yields; an ``error`` event is raised instead."""

_EVENT: TypeAdapter[StartEvent | TokenEvent | DoneEvent | ErrorEvent] = TypeAdapter(GenerateEvent)


def parse_event(line: str | bytes) -> Event:
    """One line of the stream as a typed event; an ``error`` event raises its error."""
    try:
        event = _EVENT.validate_json(line)
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


class GenerationStream:
    """An open streaming generation: iterate for events, ``close()`` to hang up.

    Closing the connection also cancels the generation on the server; an
    explicit ``NeiraClient.cancel(request_id)`` does it without waiting for the
    server to notice the closed socket.
    """

    def __init__(self, response: httpx.Response, request_id: str) -> None:
        self._response = response
        self.request_id = request_id
        self.closed = False
        self.finished = False
        self._events: queue.Queue[Event | NeiraError | None] = queue.Queue()
        self._reader = threading.Thread(
            target=self._read, name=f"neira-stream-{request_id}", daemon=True
        )
        self._reader.start()

    def _read(self) -> None:
        """Reader thread: parse lines until ``done``, an error or the end of the body."""
        import httpx

        try:
            for raw in self._response.iter_lines():
                line = raw.strip()
                if line.startswith("data:"):  # tolerate SSE framing
                    line = line[5:].strip()
                if not line:
                    continue
                event = parse_event(line)
                self._events.put(event)
                if isinstance(event, DoneEvent):
                    break
        except NeiraError as exc:
            self._events.put(exc)
        except (OSError, httpx.HTTPError) as exc:
            if not self.closed:
                self._events.put(NeiraHTTPError(502, f"the connection to the server broke: {exc}"))
        finally:
            self._events.put(None)

    def next_event(self, timeout: float | None = None) -> Event | None:
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

    def __iter__(self) -> Iterator[Event]:
        while (event := self.next_event()) is not None:
            yield event

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

    def close(self) -> None:
        """Hang up (the server cancels a generation whose client went away)."""
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

    def __enter__(self) -> GenerationStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
