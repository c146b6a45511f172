"""One ``%%neira`` request from send to result: stream it into a view, handle interrupts.

``run_answer`` sends a ``GenerateRequest`` through ``NeiraClient``, shows the
answer as it streams (or at once with ``stream=False``), and returns a
``NeiraResult``. Failures a user can act on are printed as one line and give
``None``. Interrupting the kernel while an answer streams cancels the
generation on the server (``DELETE api/requests/{id}`` with the id the client
chose), keeps the partial answer with a ``[stopped]`` note, and raises
``GenerationStopped`` carrying that partial result, so "Run all" stops there.
"""

from __future__ import annotations

import contextlib
import sys

from .client import (
    DoneEvent,
    GenerateRequest,
    GenerationStream,
    NeiraClient,
    NeiraError,
    StartEvent,
    TokenEvent,
)
from .render import STOPPED_NOTE, StreamView
from .results import GenerationStopped, NeiraResult

__all__ = ["report", "run_answer"]


def report(exc: BaseException) -> None:
    """Print an error the user can act on as one line, never as a traceback."""
    print(f"neira: {exc}", file=sys.stderr)


def run_answer(
    client: NeiraClient,
    request: GenerateRequest,
    view: StreamView,
    *,
    fmt: str = "markdown",
    stream: bool = True,
    prompt: str = "",
    cancel_timeout: float = 5.0,
    footer: str = "",
) -> NeiraResult | None:
    """Send ``request``, show the answer in ``view``, return it (None after an error).

    ``footer`` (Markdown) is shown below the finished answer, not kept in its text.

    Raises ``GenerationStopped`` after an interrupt, once the server has been told.
    """
    try:
        if not stream:
            done = client.generate_text(request)
            view.finish(done.text, fmt, footer=footer)
            return _result(done, prompt)
        events = client.generate(request)
    except NeiraError as exc:
        report(exc)
        return None
    except KeyboardInterrupt:  # before any token: waiting in the queue, or --no-stream
        with contextlib.suppress(NeiraError, KeyboardInterrupt):
            client.cancel(request.request_id)
        print(f"neira: {STOPPED_NOTE} before the answer arrived.", file=sys.stderr)
        raise GenerationStopped("the request was cancelled on the server.") from None

    text = ""
    start: StartEvent | None = None
    done_event: DoneEvent | None = None
    try:
        for event in events:
            if isinstance(event, TokenEvent):
                text += event.text
                view.update(text)
            elif isinstance(event, StartEvent):
                start = event
            elif isinstance(event, DoneEvent):
                done_event = event
    except KeyboardInterrupt:
        stopped = _stop(client, events, cancel_timeout)
        if stopped is not None:
            result = _result(stopped, prompt, stopped.text or text)
        else:
            result = _partial(request, start, text, prompt, "cancelled")
        view.finish(result.text, fmt, note=STOPPED_NOTE, footer=footer)
        raise GenerationStopped(
            "the generation was cancelled on the server; the partial answer is kept above.",
            result,
        ) from None
    except NeiraError as exc:
        events.close()
        if text:
            view.finish(text, fmt, note=f"[error: {exc}]")
        report(exc)
        return None
    finally:
        events.close()
    if done_event is None:
        view.finish(text, fmt, note="[the server closed the stream early]", footer=footer)
        return _partial(request, start, text, prompt, "error")
    final = done_event.text or text
    note = STOPPED_NOTE if done_event.finish_reason == "cancelled" else None
    view.finish(final, fmt, note=note, footer=footer)
    return _result(done_event, prompt, final)


def _stop(client: NeiraClient, stream: GenerationStream, timeout: float) -> DoneEvent | None:
    """Cancel on the server, then wait (briefly) for its final ``done`` event.

    The wait means that when the cell ends the server has really stopped; a
    second interrupt, or a server that does not answer within ``timeout``,
    ends it early (closing the stream cancels too).
    """
    try:
        client.cancel(stream.request_id)
        return stream.drain(timeout)
    except (NeiraError, KeyboardInterrupt):
        return None
    finally:
        stream.close()


def _result(done: DoneEvent, prompt: str, text: str | None = None) -> NeiraResult:
    return NeiraResult(
        text=done.text if text is None else text,
        model=done.model,
        route=done.route,
        route_reason=done.route_reason,
        finish_reason=done.finish_reason,
        usage=dict(done.usage),
        timings=dict(done.timings),
        request_id=done.request_id,
        prompt=prompt,
    )


def _partial(
    request: GenerateRequest, start: StartEvent | None, text: str, prompt: str, reason: str
) -> NeiraResult:
    return NeiraResult(
        text=text,
        model=start.model if start else "",
        route=start.route if start else "",
        route_reason=start.route_reason if start else "",
        finish_reason=reason,
        request_id=request.request_id,
        prompt=prompt,
    )
