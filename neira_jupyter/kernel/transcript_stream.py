"""One ``%transcribe FILE`` with its correction streamed: the transcript grows into its final view.

``stream_transcript`` sends the file with ``NeiraClient.transcribe_stream``
and shows, in one display updated in place (``render.LiveDisplay``), the raw
transcript as soon as it is heard, then the corrected text growing sentence
by sentence as each correction arrives, then the final view (raw, corrected,
what changed) of the ``TranscriptResult`` it returns. A plain console shows
only the final view. What is shown is built by ``render.transcript_bundle``
(escaped HTML); a sentence whose correction the server's guard rejected
arrives as its raw words. Interrupting the kernel hangs up, which cancels
the correction on the server, and keeps what was heard, marked stopped.
"""

from __future__ import annotations

import os

from IPython.display import display

from ..protocol import Language, TranscribedEvent, TranscribeDoneEvent
from .answer import report
from .client import NeiraClient, NeiraError
from .render import Bundle, LiveDisplay, transcript_bundle
from .results import GenerationStopped, TranscriptResult, transcript_from_answer

__all__ = ["stream_transcript"]


def _progress(heard: TranscribedEvent, corrected: list[str], note: str | None = None) -> Bundle:
    """The raw transcript and the sentences corrected so far (a cursor after them)."""
    return transcript_bundle(
        raw=heard.raw,
        corrected=" ".join(corrected),
        diff=[],
        language=heard.language,
        duration=heard.duration,
        degraded_reason=note,
        pending=True,
    )


def stream_transcript(
    client: NeiraClient, audio: str | os.PathLike[str], language: Language, rich: bool
) -> TranscriptResult | None:
    """Transcribe and correct ``audio``, showing the correction as it streams (in place when
    ``rich``); the result, or None after an error (reported as one line)."""
    view = LiveDisplay()
    show = view.show if rich else None
    try:
        events = client.transcribe_stream(audio, language=language)
    except NeiraError as exc:
        report(exc)
        return None
    heard: TranscribedEvent | None = None
    corrected: list[str] = []
    try:
        for event in events:
            if isinstance(event, TranscribeDoneEvent):
                result = transcript_from_answer(event.to_dict())
                _final(view, rich, result._repr_mimebundle_())
                return result
            if isinstance(event, TranscribedEvent):
                heard = event
            else:
                corrected.append(event.text)
            if show is not None and heard is not None:
                show(_progress(heard, corrected))
    except NeiraError as exc:
        report(exc)
        return None
    except KeyboardInterrupt:
        if heard is not None:
            _final(view, rich, _progress(heard, corrected, "stopped before the rest was corrected"))
        raise GenerationStopped(
            "the correction was cancelled on the server; what was heard is kept above."
        ) from None
    finally:
        events.close()  # hanging up (an interrupt included) cancels the correction on the server
    report(NeiraError("the server closed the transcription stream before its result"))
    return None


def _final(view: LiveDisplay, rich: bool, bundle: Bundle) -> None:
    """The last view: in place of the progress in a notebook, shown once elsewhere."""
    if rich:
        view.show(bundle)
    else:
        display(bundle, raw=True)
