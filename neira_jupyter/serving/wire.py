"""Engine results as protocol messages: the only place the server builds wire documents.

Each function reads an engine object's attributes and returns the protocol
model that goes on the wire; the status document is the engine's status
validated against ``StatusDocument``.
"""

from __future__ import annotations

from typing import Any

from ..engine.correct import Correction
from ..engine.generation import GenerationStart
from ..engine.speech import CorrectedSegments, Partial, StreamResult, Transcript
from ..engine.types import GenerationResult
from ..protocol import (
    Change,
    CorrectedMessage,
    CorrectResult,
    CorrectTimings,
    DoneEvent,
    FinalMessage,
    FinalTimings,
    GenerateResult,
    GenerateTimings,
    PartialMessage,
    Segment,
    StartEvent,
    StatusDocument,
    TranscribedEvent,
    TranscribeResult,
    TranscribeTimings,
    Usage,
)
from ..protocol.tools import FunctionCall, ToolCall


def start_event(start: GenerationStart) -> StartEvent:
    return StartEvent.model_validate(
        {
            "request_id": start.request_id,
            "model": start.model,
            "route": start.route,
            "route_reason": start.route_reason,
        }
    )


def generate_result(result: GenerationResult, request_id: str) -> GenerateResult:
    """``stream: false``'s answer."""
    return GenerateResult.model_validate(_result_fields(result, request_id))


def done_event(result: GenerationResult, request_id: str) -> DoneEvent:
    """The last event of a stream."""
    return DoneEvent.model_validate(_result_fields(result, request_id))


def _result_fields(result: GenerationResult, request_id: str) -> dict[str, Any]:
    usage, timings = result.usage, result.timings
    return {
        "request_id": request_id,
        "text": result.text,
        "model": result.model,
        "finish_reason": result.finish_reason,
        "usage": Usage(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
            prompt_tokens_reused=usage.prompt_tokens_reused,
        ),
        "timings": GenerateTimings(
            queue_ms=timings.queue_ms,
            first_token_ms=timings.first_token_ms,
            total_ms=timings.total_ms,
            tokens_per_second=timings.tokens_per_second,
        ),
        "route": result.route,
        "route_reason": result.route_reason,
        "tool_calls": tool_calls(result),
    }


def tool_calls(result: GenerationResult) -> list[ToolCall]:
    """The calls one choice of ``result`` makes, as the wire writes them."""
    return [
        ToolCall(id=c.id, function=FunctionCall(name=c.name, arguments=c.arguments))
        for c in result.tool_calls
    ]


def correct_result(correction: Correction) -> CorrectResult:
    return CorrectResult(
        raw=correction.raw,
        corrected=correction.corrected,
        degraded=correction.degraded,
        reason=correction.reason,
        language=correction.language,
        model=correction.model,
        route=correction.route,
        changes=[Change.model_validate(change) for change in correction.changes],
        timings=CorrectTimings(total_ms=correction.timings.get("total_ms")),
    )


def transcribe_result(
    transcript: Transcript, correction: Correction | None, decode_ms: float, total_ms: float
) -> TranscribeResult:
    correct_ms = correction.timings.get("total_ms") if correction is not None else None
    return TranscribeResult(
        **_heard_fields(transcript, decode_ms, total_ms, correct_ms),
        text=correction.corrected if correction is not None else transcript.text,
        correction=correct_result(correction) if correction is not None else None,
    )


def transcribed_event(
    transcript: Transcript, decode_ms: float, total_ms: float
) -> TranscribedEvent:
    """The first event of a streamed transcription: what was heard, not yet corrected."""
    return TranscribedEvent(**_heard_fields(transcript, decode_ms, total_ms, None))


def _heard_fields(
    transcript: Transcript, decode_ms: float, total_ms: float, correct_ms: float | None
) -> dict[str, Any]:
    return {
        "raw": transcript.text,
        "language": transcript.language,
        "language_probability": transcript.language_probability,
        "duration": transcript.duration,
        "segments": [Segment(start=s.start, end=s.end, text=s.text) for s in transcript.segments],
        "timings": TranscribeTimings(
            decode_ms=decode_ms,
            transcribe_ms=transcript.timings.get("transcribe_ms"),
            correct_ms=correct_ms,
            total_ms=total_ms,
        ),
        "cancelled": transcript.cancelled,
        "model": transcript.model or None,
        "route": "remote" if transcript.route == "remote" else "local",
    }


def partial_message(partial: Partial) -> PartialMessage:
    return PartialMessage(
        confirmed=partial.confirmed,
        tentative=partial.tentative,
        segment=partial.segment,
        audio_s=round(partial.audio_s, 3),
    )


def corrected_message(part: CorrectedSegments) -> CorrectedMessage:
    correction = part.correction
    return CorrectedMessage(
        first=part.first,
        end=part.end,
        raw=correction.raw,
        text=correction.corrected,
        degraded=correction.degraded,
        reason=correction.reason,
        covered_words=part.covered_words,
    )


def final_message(result: StreamResult) -> FinalMessage:
    return FinalMessage(
        raw=result.raw,
        text=result.text,
        language=result.language,
        duration=round(result.duration, 3),
        segments=[Segment.model_validate(segment) for segment in result.segments],
        correction=correct_result(result.correction) if result.correction else None,
        timings=FinalTimings.model_validate({k: round(v, 1) for k, v in result.timings.items()}),
    )


def status_document(status: dict[str, Any]) -> StatusDocument:
    """The engine's status, checked against the protocol (a drift fails here, loudly)."""
    return StatusDocument.model_validate(status)
