"""``write_events``: one streamed HTTP answer of protocol documents, as SSE or NDJSON.

Every streaming route writes through it: ``api/generate``, ``api/complete``,
``api/correct`` and ``api/transcribe`` (NDJSON, or SSE when the client
accepts ``text/event-stream``: ``event_media``) and the OpenAI completions
(SSE ending in ``data: [DONE]``). Each document is flushed as it comes; a
client that leaves ends the writing quietly, and the caller's cleanup
cancels the work behind the stream.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from tornado import web
from tornado.iostream import StreamClosedError

from ..protocol import WireModel

SSE = "text/event-stream"
NDJSON = "application/x-ndjson"


def accepts_sse(handler: web.RequestHandler) -> bool:
    """Whether the client asked for server-sent events (``Accept: text/event-stream``)."""
    return SSE in handler.request.headers.get("Accept", "")


def event_media(handler: web.RequestHandler) -> str:
    """The framing a neira stream answers in: SSE when the client accepts it, else NDJSON."""
    return SSE if accepts_sse(handler) else NDJSON


async def write_events(
    handler: web.RequestHandler,
    documents: AsyncGenerator[WireModel, None],
    content_type: str,
    end: str | None = None,
    named: bool = False,
) -> None:
    """Send ``documents`` as the answer's body and finish it.

    ``content_type`` chooses the framing: SSE (``data: <json>`` and a blank
    line) for ``text/event-stream...``, else one JSON document per line.
    ``end``: a last SSE data line (OpenAI's ``[DONE]``); ``named``: each SSE
    event begins with ``event: <its type>`` (the Responses API's framing).
    """
    sse = content_type.startswith(SSE)
    handler.set_header("Content-Type", content_type)
    handler.set_header("Cache-Control", "no-cache")
    handler.set_header("X-Accel-Buffering", "no")

    async def send(data: str, event: str | None = None) -> None:
        named = f"event: {event}\n" if event else ""
        handler.write(f"{named}data: {data}\n\n" if sse else data + "\n")
        await handler.flush()

    try:
        try:
            async for document in documents:
                await send(document.to_json(), getattr(document, "type", None) if named else None)
        finally:
            await documents.aclose()
        if end is not None:
            await send(end)
        handler.finish()
    except StreamClosedError:
        pass  # the client left; the caller cancels the work
