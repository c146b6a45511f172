"""``LiveSession``: one connection's live transcription, apart from the connection itself.

The socket (``server.speech.TranscribeStreamWebSocket``) only moves frames:
text frames go to ``control``, binary frames to ``audio``, and what the
session says goes back through the ``send`` and ``send_error`` it was given.
The session holds the protocol's states (docs/api.md, "Live transcription"):

* idle -- ``start`` opens a ``StreamingRecognizer`` and answers ``started``;
* running -- audio frames (raw 16 kHz mono s16le PCM) feed it, ``partial``s
  go out as it hears and ``corrected`` as each committed segment's correction
  is accepted; ``stop`` starts the final, ``cancel`` drops it; audio past the
  length limit is an error, and the stream finishes with what was heard
  (its further frames, and a ``stop``, are ignored until the next ``start``);
* finishing -- the final (or an error) goes out, and the session is idle
  again: the same connection may ``start`` another stream.

Closing the connection cancels whatever runs (``close``). The recognizer
gets the engine's calls bound to this session's user (``NeiraEngine.live_calls``),
so nothing in ``engine/speech`` knows the engine's top object.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..engine.service import NeiraEngine
from ..engine.speech import (
    SAMPLE_RATE,
    CorrectedSegments,
    Partial,
    StreamingRecognizer,
    StreamLimitReached,
    StreamOptions,
)
from ..engine.speech import pcm16le_to_float as pcm_samples
from ..engine.types import BadRequest, EngineError
from ..protocol import (
    MAX_CONTROL_BYTES,
    MAX_FRAME_BYTES,
    ProtocolError,
    StartedMessage,
    StreamCancel,
    StreamStart,
    StreamStop,
    WireModel,
    parse_tagged,
)
from .limits import RequestLimits
from .wire import corrected_message, final_message, partial_message

CONTROLS: dict[str, type[StreamStart | StreamStop | StreamCancel]] = {
    "start": StreamStart,
    "stop": StreamStop,
    "cancel": StreamCancel,
}
"""The control messages of the live stream, by ``type``."""


class StreamConflict(EngineError):
    """A ``start`` while this connection's stream is still running."""

    status = 409


def parse_stream_control(message: str) -> StreamStart | StreamStop | StreamCancel:
    """One JSON control frame; ``BadRequest`` names the problem."""
    if len(message) > MAX_CONTROL_BYTES:
        raise BadRequest(f"a control frame is limited to {MAX_CONTROL_BYTES} bytes")
    try:
        return parse_tagged(message, CONTROLS)
    except ProtocolError as exc:
        raise BadRequest(str(exc)) from None


class LiveSession:
    """One connection's live transcriptions, one at a time (see the module docstring)."""

    def __init__(
        self,
        engine: NeiraEngine,
        user: str,
        limits: RequestLimits,
        send: Callable[[WireModel], object],
        send_error: Callable[[EngineError], None],
    ) -> None:
        self.engine = engine
        self.user = user
        self.limits = limits
        self._send = send
        self._send_error = send_error
        self._recognizer: StreamingRecognizer | None = None
        self._finishing: asyncio.Task[None] | None = None
        self._limited = False  # the last stream reached its limit: its frames are ignored
        self._cancelling: set[asyncio.Task[None]] = set()  # referenced until done

    @property
    def busy(self) -> bool:
        """Whether a stream is running or finishing."""
        return self._recognizer is not None

    def control(self, message: str) -> None:
        """Handle one text frame: ``start``, ``stop`` or ``cancel``."""
        control = parse_stream_control(message)
        if isinstance(control, StreamStart):
            self._start(control)
        elif isinstance(control, StreamStop):
            if self._recognizer is None or self._finishing is not None:
                if self._limited:  # it is finishing already: the final follows
                    return
                raise BadRequest("there is no running stream to stop")
            self._stop(self._recognizer)
        else:
            self.close()

    def audio(self, data: bytes) -> None:
        """Handle one binary frame: PCM for the running stream."""
        recognizer = self._recognizer
        if self._limited:  # frames sent before the client heard of the limit
            return
        if recognizer is None or self._finishing is not None:
            raise BadRequest('send {"type": "start"} before audio frames')
        if len(data) > MAX_FRAME_BYTES:
            raise BadRequest(
                f"an audio frame is {len(data)} bytes; the limit is {MAX_FRAME_BYTES} bytes"
            )
        if not data:
            return
        samples = pcm_samples(data, max_seconds=self.limits.max_audio_seconds)
        try:
            recognizer.feed(samples)
        except StreamLimitReached:  # what was heard is finished: the final follows the error
            self._limited = True
            self._stop(recognizer)
            raise
        except EngineError:
            self.close()
            raise

    def close(self) -> None:
        """Cancel the running stream, if any, without a result."""
        recognizer, self._recognizer = self._recognizer, None
        finishing, self._finishing = self._finishing, None
        self._limited = False
        if finishing is not None:
            finishing.cancel()
        if recognizer is not None:
            recognizer.corrector.on_corrected = None  # nothing more of it goes out
            task = asyncio.ensure_future(recognizer.cancel())
            self._cancelling.add(task)
            task.add_done_callback(self._cancelling.discard)

    def _stop(self, recognizer: StreamingRecognizer) -> None:
        self._finishing = asyncio.ensure_future(self._finish(recognizer))

    def _start(self, control: StreamStart) -> None:
        if self._recognizer is not None:
            raise StreamConflict("a stream is already running on this socket; stop it first")
        self._limited = False
        model = self.engine.live_model()  # NoModelAvailable (503) when no model may serve
        options = StreamOptions(
            language=control.language,
            correct=control.correct,
            max_seconds=self.limits.max_audio_seconds,
            correct_live=self.engine.config.live_correction,
        )
        self._recognizer = StreamingRecognizer(
            self.engine.live_calls(self.user),
            options,
            on_partial=self._on_partial,
            on_corrected=self._on_corrected,
        )
        self._send(
            StartedMessage(
                sample_rate=SAMPLE_RATE,
                max_seconds=options.max_seconds,
                max_frame_bytes=MAX_FRAME_BYTES,
                model=model,
            )
        )

    def _on_partial(self, partial: Partial) -> None:
        self._send(partial_message(partial))

    def _on_corrected(self, corrected: CorrectedSegments) -> None:
        self._send(corrected_message(corrected))

    async def _finish(self, recognizer: StreamingRecognizer) -> None:
        try:
            result = await recognizer.finish()
        except EngineError as exc:
            self._send_error(exc)
        else:
            self._send(final_message(result))
        finally:
            if self._recognizer is recognizer:
                self._recognizer = None
                self._finishing = None
