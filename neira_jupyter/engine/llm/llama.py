"""One resident GGUF model through llama-cpp-python, served by continuous batching.

``LlamaModel`` loads the weights once and serves ``spec.slots`` sequences at
once (1 included) from one ``BatchLoop``: a second ``llama_context`` on the
same weights, with ``n_seq_max = slots`` and one unified KV cache of
``slots * n_ctx`` cells (faster than one cache per sequence on a CPU:
measured 9.2 against 6.3 tokens/s for one sequence); the loop ends every
sequence at ``n_ctx`` tokens, so each has ``n_ctx`` of its own and they
always fit. A ``ChatFormatter`` turns each request into prompt tokens, stop
strings, sampler settings and grammar with the GGUF's own chat template.

Thread-safety: any number of threads may call ``start`` and ``generate`` at
once (formatting only reads the model; only the loop's thread decodes);
``load`` and ``close`` take the model's lock and are run by the model's lane
(``engine.lanes``), in queue order with the requests. ``close`` lets the
sequences already running finish first. A request with ``options.infill`` is a
code completion: its prompt is the model's own fill-in-the-middle layout
(``InfillFormatter``), and it goes ahead of the others in the loop.

``start`` returns at once: the loop's thread hands each chunk to ``emit`` and
the result (or error) to ``done``. ``generate`` is the blocking iterator of
``LanguageModel`` built on it. Usage and timings are exact: the loop counts
prompt and completion tokens and marks when the prompt's evaluation began and
ended and when the first token was sampled.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..resident import ResidentModel
from ..types import CancelToken, ChatMessage, EngineError, GenerationOptions, GenerationResult
from .base import TokenChunk
from .batch_loop import BatchLoop
from .chat_prompt import ChatFormatter, ChatPrompt, formatting_llama_class
from .generation import BatchGeneration, Done
from .infill import InfillFormatter
from .prompt_cache import cache_ids
from .runtime import banned_tokens, default_threads, llama_supports_gpu

__all__ = ["PREFILL_CHUNK", "LLMSpec", "LlamaModel"]

PREFILL_CHUNK = 128  # prompt tokens decoded per step next to the running sequences
PREFILL_ALONE = 512  # ... and when no sequence is generating (as Llama's n_batch)
_FORMAT_CTX = 64  # the formatting Llama's own context: never decodes, kept small
PROMPT_CACHE_TOKENS = 4096  # parked prompts' cells (about two notebooks' context each)


@dataclass(frozen=True)
class LLMSpec:
    """How to load one GGUF model.

    ``n_gpu_layers`` is passed to llama.cpp as is (-1: all layers); it only has
    an effect when llama-cpp-python was built with CUDA (or another GPU backend).
    ``chat_format`` of ``None`` uses the chat template in the GGUF metadata.
    ``slots``: how many sequences are decoded at once, each with its own
    context of ``n_ctx`` tokens. ``prompt_cache_tokens``: cells for prompts
    parked beyond the slots' (``prompt_cache.PromptCache``; 0: none).
    """

    name: str
    path: Path
    n_ctx: int  # no default: primary_context, fallback_context or demo_context
    n_gpu_layers: int = 0
    chat_format: str | None = None
    n_threads: int | None = None
    slots: int = 1
    prompt_cache_tokens: int = PROMPT_CACHE_TOKENS

    @property
    def kv_cells(self) -> int:
        """The KV cache's size in tokens: every slot's context and the parked prompts'."""
        return self.n_ctx * self.slots + self.prompt_cache_tokens


@dataclass
class _Ended:
    """The end of a blocking ``generate``: the result, or the error to raise."""

    result: GenerationResult | None
    error: BaseException | None


class LlamaModel(ResidentModel):
    """One resident GGUF model with ``spec.slots`` sequence slots."""

    kind = "llm"

    def __init__(self, spec: LLMSpec, prefill_chunk: int = PREFILL_CHUNK) -> None:
        super().__init__(spec.name, spec.path)
        self.spec = spec
        self.prefill_chunk = prefill_chunk
        self._formatter: ChatFormatter | None = None
        self._infill: InfillFormatter | None = None
        self._ctx: Any = None
        self._loop: BatchLoop | None = None

    @property
    def device(self) -> str:
        return "cuda" if self.spec.n_gpu_layers != 0 and llama_supports_gpu() else "cpu"

    def describe(self) -> dict[str, Any]:
        """The model's part of the status document, with the batch: running, waiting,
        KV use, tokens/s."""
        loop = self._loop
        batch = loop.stats() if loop is not None else {"slots": self.spec.slots}
        return {**super().describe(), "n_ctx": self.spec.n_ctx, "batch": batch}

    def _load_detail(self) -> str:
        return f"{self.spec.path.name} on {self.device}, {self.spec.slots} slots"

    def _open(self) -> None:
        """Load the weights, the formatting ``Llama`` and the batch context and loop."""
        import llama_cpp as ll

        self._require_weights()
        spec = self.spec
        threads = spec.n_threads or default_threads()
        llama = formatting_llama_class()(
            model_path=str(spec.path),
            n_ctx=_FORMAT_CTX,
            n_batch=_FORMAT_CTX,
            n_gpu_layers=spec.n_gpu_layers,
            chat_format=spec.chat_format,
            n_threads=threads,
            verbose=False,
        )
        self._formatter = ChatFormatter(self.name, llama, spec.n_ctx)
        self._infill = InfillFormatter(self._formatter)
        params = ll.llama_context_default_params()
        params.n_ctx = spec.kv_cells
        alone = max(PREFILL_ALONE, self.prefill_chunk)
        params.n_batch = params.n_ubatch = max(alone, self.prefill_chunk + spec.slots)
        params.n_seq_max = spec.slots + cache_ids(spec.prompt_cache_tokens)
        params.n_threads = params.n_threads_batch = threads
        params.no_perf = True
        params.flash_attn_type = ll.LLAMA_FLASH_ATTN_TYPE_DISABLED  # as Llama()
        params.kv_unified = True  # one cache; the loop keeps each sequence to n_ctx
        model = llama._model.model
        self._ctx = ll.llama_init_from_model(model, params)
        if not self._ctx:
            raise EngineError("llama.cpp could not create the batch context")
        ban = banned_tokens(llama._model.vocab, llama.n_vocab())
        self._loop = BatchLoop(
            model,
            self._ctx,
            spec.slots,
            spec.n_ctx,
            (self.prefill_chunk, alone),
            ban,
            spec.prompt_cache_tokens,
        )

    def _release(self) -> None:
        """Let running sequences finish, then free the context and the model."""
        import llama_cpp as ll

        if self._loop is not None:
            self._loop.close()
            self._loop = None
        if self._ctx is not None:
            ll.llama_free(self._ctx)
            self._ctx = None
        if self._formatter is not None:
            self._formatter.llama.close()
            self._formatter = None
            self._infill = None

    @property
    def fim_family(self) -> str | None:
        """The loaded model's fill-in-the-middle family (None: none, or not loaded)."""
        return self._infill.family if self._infill is not None else None

    def prompt(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> ChatPrompt:
        """What the loop would decode for this request: a chat (``ChatFormatter.prepare``),
        or a code completion when ``options.infill`` is set (``InfillFormatter.prepare``)."""
        formatter = self._ready()[0]
        if options.infill is not None and self._infill is not None:
            return self._infill.prepare(messages, options)
        return formatter.prepare(messages, options)

    def start(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken | None,
        emit: Callable[[TokenChunk], None],
        done: Done,
    ) -> BatchGeneration:
        """Hand a chat completion to the batch loop and return at once.

        The loop's thread calls ``emit`` with each ``TokenChunk`` and, last,
        ``done`` with the ``GenerationResult`` (or the error). Raises
        ``BadRequest`` for what the request got wrong before anything is decoded.
        Cancelling (or ``BatchGeneration.abandon``) ends the sequences within one step.
        """
        started = time.perf_counter()
        loop = self._ready()[1]
        prompt = self.prompt(messages, options)
        generation = BatchGeneration(self.name, prompt, options, cancel, started, emit, done)
        try:
            for req in generation.requests:
                loop.submit(req)
        except BaseException:
            generation.abandon()
            raise
        return generation

    def generate(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken | None = None,
    ) -> Iterator[TokenChunk | GenerationResult]:
        """Stream a chat completion: ``TokenChunk``s, then one ``GenerationResult``.

        If ``cancel`` is set, decoding stops before the next token and the
        result has ``finish_reason == "cancelled"``; closing the iterator early
        drops the sequences too.
        """
        events: queue.SimpleQueue[TokenChunk | _Ended] = queue.SimpleQueue()
        generation = self.start(
            messages,
            options,
            cancel,
            events.put,
            lambda result, error: events.put(_Ended(result, error)),
        )
        try:
            while True:
                event = events.get()
                if isinstance(event, TokenChunk):
                    yield event
                    continue
                if event.error is not None:
                    raise event.error
                assert event.result is not None
                yield event.result
                return
        finally:
            generation.abandon()

    def _ready(self) -> tuple[ChatFormatter, BatchLoop]:
        formatter, loop = self._formatter, self._loop
        if formatter is None or loop is None:
            raise EngineError(f"model {self.name!r} is {self.state.value}, not ready")
        return formatter, loop
