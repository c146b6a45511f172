"""``POST api/complete``: a code completion at the cursor (fill-in-the-middle), streamed.

The request is the code around the cursor (``prefix``, ``suffix``), the
notebook's other cells (``context``), the language and the path. The answer
is the same stream as ``POST api/generate`` (``start``, ``token``...,
``done``), or one ``GenerateResult``; ``done.usage.prompt_tokens_reused``
says how much of the prompt was found in the model's cache. A new request
with the same ``stream_key`` as a running one of the same user cancels the
older one (typing on supersedes the pending suggestion).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .base import RequestId, RequestModel, Text

MAX_COMPLETE_TOKENS = 256
"""A completion's ``max_tokens`` at most: suggestions are short."""

DEFAULT_COMPLETE_TOKENS = 64
"""A completion's ``max_tokens`` when the request sets none."""

MAX_CONTEXT_CELLS = 64


class CompleteRequest(RequestModel):
    """The body of ``POST api/complete``."""

    prefix: Text = Field(description="The code before the cursor (the current cell's).")
    suffix: Text = Field("", description="The code after the cursor.")
    context: list[Text] = Field(
        default_factory=list,
        max_length=MAX_CONTEXT_CELLS,
        description="Other cells of the notebook, in order, laid out before the current one.",
    )
    language: str = Field(
        "python", pattern=r"^[A-Za-z0-9_+#.-]{1,32}$", description="The code's language."
    )
    path: str | None = Field(
        None, max_length=1024, description="The notebook's or file's path (informational)."
    )
    max_tokens: int | None = Field(
        None, ge=1, le=MAX_COMPLETE_TOKENS, description="Tokens at most (default 64)."
    )
    max_lines: int = Field(0, ge=0, le=200, description="Lines at most (0: no limit).")
    model: str = Field("auto", description="A configured model name, or auto.")
    temperature: float | None = Field(None, ge=0.0, le=2.0, description="Default 0 (greedy).")
    stream: bool = Field(True, description="Stream events (NDJSON/SSE) or answer once.")
    stream_key: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")] | None = Field(
        None,
        description="The editor asking: a new completion with the same key cancels your "
        "previous one that is still running.",
    )
    request_id: RequestId | None = Field(
        None, description="Chosen by the client so it can cancel; generated when unset."
    )
