"""``POST v1/embeddings``: OpenAI's embeddings request and answer.

Every field of the spec's ``CreateEmbeddingRequest`` is declared. Honoured:
``model`` (the configured embedding model's name), ``input`` (a string, an
array of strings, an array of token ids, or an array of token-id arrays;
the ids are the embedding model's own vocabulary's), ``encoding_format``
(``float``, or ``base64``: the little-endian float32 bytes, as OpenAI
sends them). ``dimensions`` is accepted only at the model's own size (a
model that cannot shorten its vectors is refused with a 400 naming the
field; the server checks it, as only it knows the size). ``user`` is
accepted and changes nothing (the caller is the authenticated user).
Empty strings and empty arrays are refused, as OpenAI refuses them.
"""

from __future__ import annotations

import base64
import struct
from typing import Annotated, Literal

from pydantic import Field

from .base import RequestModel, WireModel
from .openai_messages import MAX_NAME_CHARS, ModelName

MAX_EMBEDDING_INPUTS = 2048
"""The spec's bound on an input array (the server's ``embedding_max_inputs`` is lower)."""
MAX_INPUT_CHARS = 65_536
"""One input's characters at most (its tokens are then checked against the model's context)."""

TokenIds = Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1, max_length=65_536)]
InputText = Annotated[str, Field(min_length=1, max_length=MAX_INPUT_CHARS)]
EmbeddingInputs = (
    InputText
    | Annotated[list[InputText], Field(min_length=1, max_length=MAX_EMBEDDING_INPUTS)]
    | TokenIds
    | Annotated[list[TokenIds], Field(min_length=1, max_length=MAX_EMBEDDING_INPUTS)]
)


class EmbeddingRequest(RequestModel):
    """``POST v1/embeddings`` (the spec's ``CreateEmbeddingRequest``)."""

    model: ModelName
    input: EmbeddingInputs = Field(
        description="A string, strings, token ids, or token-id arrays (the model's own ids)."
    )
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Only the model's own size (a 400 otherwise)."
    )
    user: Annotated[str, Field(max_length=MAX_NAME_CHARS)] | None = Field(
        None, description="Accepted; the caller is the authenticated user."
    )

    def inputs(self) -> list[str | list[int]]:
        """The inputs as a list, each a string or one token-id array."""
        value = self.input
        if isinstance(value, str):
            return [value]
        if value and isinstance(value[0], int):
            return [list(value)]
        return list(value)  # type: ignore[arg-type]


class EmbeddingItem(WireModel):
    """One vector of the answer: floats, or base64 of little-endian float32."""

    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingUsage(WireModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(WireModel):
    """The answer (the spec's ``CreateEmbeddingResponse``)."""

    object: Literal["list"] = "list"
    data: list[EmbeddingItem]
    model: str
    usage: EmbeddingUsage


def encode_vector(vector: list[float], encoding: str) -> list[float] | str:
    """``vector`` as the answer carries it: floats, or base64 of little-endian float32."""
    if encoding == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
