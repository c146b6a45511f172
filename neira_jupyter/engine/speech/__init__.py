"""Speech: audio decoding, the resident Whisper model, and live streaming recognition.

Layers, lowest first: ``audio`` (bytes -> 16 kHz mono float32), ``whisper``
(``WhisperTranscriber`` over faster-whisper), ``vad`` (speech or silence per
frame), ``segment`` (the current segment's frames and where to cut it),
``agreement`` (which words of successive hypotheses have settled),
``language`` (which language a live stream's decodes use), ``window``
(short-window decodes of live audio), ``dispatch`` (``SpeechDispatcher``:
which stream's decode runs next, finals first), ``stream_types`` (a live
stream's options, partials, result, and what it needs of the engine) and
``live_correct`` (``LiveCorrector``: a stream's committed segments corrected as
they come) and ``streaming`` (``StreamingRecognizer``: live PCM in, partials
and a final out). Beside
them, ``remote`` (``RemoteTranscriber``: whole-file transcription by an
OpenAI-compatible server, for scale-out).
"""

from __future__ import annotations

from .agreement import LocalAgreement, align_end, fold
from .audio import SAMPLE_RATE, decode_audio, pcm16le_to_float
from .dispatch import Priority, SpeechDispatcher
from .language import LanguageTracker
from .live_correct import (
    CorrectedSegments,
    LiveCorrector,
    correct_in_pieces,
    join_corrections,
    sentence_pieces,
)
from .remote import RemoteSpeechError, RemoteSpeechSpec, RemoteTranscriber
from .stream_types import LiveCalls, Partial, StreamLimitReached, StreamOptions, StreamResult
from .streaming import StreamingRecognizer
from .vad import FRAME, SpeechDetector
from .whisper import Segment, SpeechSpec, Transcript, WhisperTranscriber
from .window import Window

__all__ = [
    "FRAME",
    "SAMPLE_RATE",
    "CorrectedSegments",
    "LanguageTracker",
    "LiveCalls",
    "LiveCorrector",
    "LocalAgreement",
    "Partial",
    "Priority",
    "RemoteSpeechError",
    "RemoteSpeechSpec",
    "RemoteTranscriber",
    "Segment",
    "SpeechDetector",
    "SpeechDispatcher",
    "SpeechSpec",
    "StreamLimitReached",
    "StreamOptions",
    "StreamResult",
    "StreamingRecognizer",
    "Transcript",
    "WhisperTranscriber",
    "Window",
    "align_end",
    "correct_in_pieces",
    "decode_audio",
    "fold",
    "join_corrections",
    "pcm16le_to_float",
    "sentence_pieces",
]
