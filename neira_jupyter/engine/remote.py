"""``RemoteModel``: an OpenAI-compatible chat backend (vLLM, llama.cpp server, Ollama).

Used by the router only when ``allow_external_api`` is on (offline first).
It has the same surface as ``LlamaModel`` -- ``state``, ``load``, ``close``,
``generate`` yielding ``TokenChunk``s and one ``GenerationResult`` -- so the
engine runs it on a worker lane like a local model. ``generate`` is blocking
(stdlib ``urllib``, ``POST {base_url}/chat/completions`` with
``stream: true``) and reads the server-sent events line by line, checking the
cancel token between chunks. The API key is sent as a Bearer token and never
logged.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .llm import TokenChunk
from .types import (
    CancelToken,
    ChatMessage,
    EngineError,
    FinishReason,
    GenerationOptions,
    GenerationResult,
    ModelState,
    Timings,
    Usage,
)

log = logging.getLogger("neira_jupyter")


@dataclass(frozen=True)
class RemoteSpec:
    """Where the remote API is and which model to ask for."""

    base_url: str  # e.g. http://gpu-box:8000/v1
    model: str
    api_key: str = ""
    timeout_s: float = 60.0

    @property
    def name(self) -> str:
        return f"remote:{self.model}"


class RemoteModel:
    """A chat model behind an OpenAI-compatible HTTP API."""

    def __init__(self, spec: RemoteSpec) -> None:
        self.spec = spec
        self.state = ModelState.READY  # nothing to load; failures are counted by the router
        self.error: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "llm",
            "file": None,
            "url": self.spec.base_url,
            "state": self.state.value,
            "error": self.error,
            "device": "remote",
            "memory_bytes": 0,
        }

    def load(self) -> None:
        self.state = ModelState.READY

    def close(self) -> None:
        """Nothing is held between requests."""

    def generate(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken | None = None,
    ) -> Iterator[TokenChunk | GenerationResult]:
        body: dict[str, Any] = {
            "model": self.spec.model,
            "messages": [m.to_dict() for m in messages],
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "top_p": options.top_p,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if options.stop:
            body["stop"] = list(options.stop)
        if options.seed is not None:
            body["seed"] = options.seed
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.spec.api_key:
            headers["Authorization"] = f"Bearer {self.spec.api_key}"
        request = urllib.request.Request(
            self.spec.base_url.rstrip("/") + "/chat/completions",
            data=json.dumps(body).encode("utf-8"),
            headers=headers,
            method="POST",
        )
        started = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        finish: FinishReason = "stop"
        usage = Usage()
        chunks = 0
        try:
            response = urllib.request.urlopen(request, timeout=self.spec.timeout_s)
        except (urllib.error.URLError, OSError) as exc:
            raise EngineError(f"remote API {self.spec.base_url} failed: {exc}") from exc
        with response:
            for raw in response:
                if cancel is not None and cancel.cancelled:
                    finish = "cancelled"
                    break
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                data = line[len("data:") :].strip()
                if data == "[DONE]":
                    break
                try:
                    event = json.loads(data)
                except ValueError as exc:
                    raise EngineError(f"remote API sent a bad event: {data[:80]!r}") from exc
                if event.get("usage"):
                    usage = Usage(
                        int(event["usage"].get("prompt_tokens", 0)),
                        int(event["usage"].get("completion_tokens", 0)),
                    )
                for choice in event.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        if first is None:
                            first = time.perf_counter()
                        chunks += 1
                        pieces.append(text)
                        yield TokenChunk(text)
                    if choice.get("finish_reason") == "length":
                        finish = "length"
        ended = time.perf_counter()
        if not usage.completion_tokens:
            usage.completion_tokens = chunks
        yield GenerationResult(
            text="".join(pieces),
            model=self.name,
            finish_reason=finish,
            usage=usage,
            timings=Timings(
                first_token_ms=(first - started) * 1000 if first is not None else None,
                total_ms=(ended - started) * 1000,
            ),
        )
