"""What every language model backend shares: the streamed chunk type and the model protocol."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..types import (
    CancelToken,
    ChatMessage,
    GenerationOptions,
    GenerationResult,
    ModelState,
    TokenLogprob,
)

__all__ = ["LanguageModel", "TokenChunk"]


@dataclass
class TokenChunk:
    """A piece of generated text, as it streams; ``logprobs`` when they were asked for
    (those of the tokens since the last chunk: a token held back for a stop string
    may come a chunk later than its text would). ``index``: which choice it belongs to
    (``GenerationOptions.n``)."""

    text: str
    logprobs: tuple[TokenLogprob, ...] = ()
    index: int = 0


class LanguageModel(Protocol):
    """What the router and the engine need of a model (``LlamaModel``, ``RemoteModel``).

    ``generate`` is blocking: it yields ``TokenChunk``s as text is produced and,
    last, one ``GenerationResult``; it stops early once ``cancel`` is set.
    """

    state: ModelState
    error: str | None

    @property
    def name(self) -> str: ...

    def describe(self) -> dict[str, Any]: ...

    def load(self) -> None: ...

    def close(self) -> None: ...

    def generate(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken | None = None,
    ) -> Iterator[TokenChunk | GenerationResult]: ...
