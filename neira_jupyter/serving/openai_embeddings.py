"""``POST v1/embeddings`` on the engine: the request checked, embedded, answered in OpenAI's shape.

The model must be the configured embedding model (``check_model``: 404 when
unknown, 400 when it is an LLM or a speech model); more than
``embedding_max_inputs`` inputs, an input longer than the model's context
and a ``dimensions`` other than the model's own size are 400s naming the
field. The engine embeds (``NeiraEngine.embed``: the embedding lane, its
queue and the usage observers); this module only translates.
"""

from __future__ import annotations

from ..engine.embedding import InputTooLong
from ..engine.service import NeiraEngine
from ..protocol.openai_embeddings import (
    EmbeddingItem,
    EmbeddingList,
    EmbeddingRequest,
    EmbeddingUsage,
    encode_vector,
)
from .errors import OpenAIRequestError
from .models import check_model


def _check_dimensions(request: EmbeddingRequest, size: int) -> None:
    if request.dimensions is not None and size and request.dimensions != size:
        raise OpenAIRequestError(
            400,
            f"The model {request.model!r} makes {size}-dimensional vectors and cannot "
            f"shorten them; leave out 'dimensions' or send {size}",
            "dimensions",
            "invalid_value",
        )


async def create_embeddings(
    engine: NeiraEngine, user: str, request: EmbeddingRequest
) -> EmbeddingList:
    """Embed the request's inputs for ``user``; raises ``EngineError`` (with OpenAI's param)."""
    check_model(engine, request.model, "embedding")
    service = engine.embeddings
    assert service.spec is not None and service.model is not None  # listed, so configured
    inputs = request.inputs()
    if len(inputs) > service.spec.max_inputs:
        raise OpenAIRequestError(
            400,
            f"{len(inputs)} inputs; this server embeds at most {service.spec.max_inputs} "
            "per request (embedding_max_inputs)",
            "input",
            "too_many_inputs",
        )
    _check_dimensions(request, service.model.dimensions)  # known once the model is loaded
    try:
        embedded = await engine.embed(user, inputs)
    except InputTooLong as exc:
        raise OpenAIRequestError(400, str(exc), "input", "context_length_exceeded") from exc
    _check_dimensions(request, service.model.dimensions)
    data = [
        EmbeddingItem(index=i, embedding=encode_vector(vector, request.encoding_format))
        for i, vector in enumerate(embedded.vectors)
    ]
    usage = EmbeddingUsage(prompt_tokens=embedded.tokens, total_tokens=embedded.tokens)
    return EmbeddingList(data=data, model=request.model, usage=usage)
