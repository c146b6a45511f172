"""Serving OpenAI's ``v1/chat/completions`` and ``v1/completions`` on the neira engine.

``open_completion`` checks the request's ``model`` (a listed LLM), turns the
request into a ``GenerateRequest`` (``to_generate``: a text prompt is one
user message; with a ``suffix``, prompt and suffix are the code around a gap,
filled in the model's fill-in-the-middle tokens as a code completion),
refuses a format no grammar can follow and starts it with
``generate.open_generation``, so the scheduler, router, fairness, limits and
cancellation are the neira API's. The ``OpenAICompletion`` it returns gives
the whole answer (``whole``) or the stream's chunks (``chunks``; the SSE
stream then ends with ``STREAM_END``). A failure after the first chunk ends
the stream with OpenAI's error document, in-band, as OpenAI does.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from ..engine.llm import TokenChunk
from ..engine.service import NeiraEngine
from ..engine.types import EngineError, GenerationResult, Infill
from ..protocol import WireModel
from ..protocol.openai import ChatCompletionRequest, CompletionRequest, openai_error
from .errors import openai_error_body
from .generate import StartedGeneration, check_format, open_generation
from .limits import RequestLimits
from .models import check_model
from .openai_answer import ChatAnswer, CompletionAnswer, TextAnswer

log = logging.getLogger("neira_jupyter")

STREAM_END = "[DONE]"
"""The last ``data:`` line of an OpenAI stream."""

CompletionRequestModel = ChatCompletionRequest | CompletionRequest


@dataclass
class OpenAICompletion:
    """A started chat or text completion: its generation and the documents it answers with."""

    request: CompletionRequestModel
    generation: StartedGeneration
    answer: CompletionAnswer

    async def whole(self) -> GenerationResult:
        """The generation's result (``answer.whole`` makes the document); raises ``EngineError``."""
        return await self.generation.result()

    async def chunks(self) -> AsyncGenerator[WireModel, None]:
        """The stream's chunks: the opening ones, one per token, the calls, the finish
        reasons, the usage when asked for; an in-band error document on a failure."""
        answer = self.answer
        for chunk in answer.opening(self.request.choices):
            yield chunk
        try:
            async for event in self.generation.events:
                if isinstance(event, TokenChunk):
                    yield answer.chunk(event.text, event.logprobs, event.index)
                    continue
                result: GenerationResult = event
                if (calls := answer.calls(result)) is not None:
                    yield calls
                yield answer.finishes(result)
                if self.request.include_usage:
                    yield answer.usage(result)
        except EngineError as exc:  # the answer's status is sent: report in-band
            yield openai_error_body(exc)
        except Exception as exc:
            log.exception("neira: generation failed")
            yield openai_error(500, f"generation failed: {exc}")

    async def aclose(self) -> None:
        """Cancel the job when the answer was not read to the end."""
        await self.generation.aclose()


async def open_completion(
    engine: NeiraEngine, user: str, request: CompletionRequestModel, limits: RequestLimits
) -> OpenAICompletion:
    """Start ``user``'s completion; every refusal (model, format, limits, queue) is raised
    as an ``EngineError`` before anything is sent."""
    check_model(engine, request.model, "llm")
    generate = request.to_generate()
    await check_format(generate)
    gap = request.gap if isinstance(request, CompletionRequest) else None
    infill = Infill(prefix=gap[0], suffix=gap[1]) if gap is not None else None
    generation = await open_generation(
        engine, user, generate, limits, request.logprob_count, request.choices, infill
    )
    logprobs = request.logprob_count is not None
    answer: CompletionAnswer
    if isinstance(request, CompletionRequest):
        answer = TextAnswer(generation.start, logprobs, echo=request.echoed)
    else:
        answer = ChatAnswer(generation.start, logprobs)
    return OpenAICompletion(request, generation, answer)
