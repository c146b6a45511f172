"""A GGUF model that serves many generations at once (continuous batching).

``BatchedLlamaModel`` keeps the interface of ``LlamaModel`` (``load``,
``close``, ``state``, ``describe``, a blocking ``generate`` that streams
``TokenChunk``s and ends with a ``GenerationResult``), but any number of
threads may call ``generate`` at the same time: each call hands its prompt to
one ``BatchLoop`` and relays that sequence's text. The engine gives the
model's scheduler lane ``spec.slots`` worker threads, so admission stays in
the fair queue (round-robin by user) and at most ``slots`` requests reach the
batch at once.

The ``llama_cpp.Llama`` object is still loaded, for what it does well and
what the single-sequence path does the same way: tokenizing and formatting
chats with the GGUF's own template (or the configured ``chat_format``). Its
chat handler is run up to the point where it would start a completion, and
the prompt tokens, stop strings and sampling settings it chose are taken from
there. Decoding happens in a second ``llama_context`` on the same weights,
with ``n_seq_max = slots`` and one unified KV cache of ``slots * n_ctx``
cells (faster than one cache per sequence on a CPU: measured 9.2 against
6.3 tokens/s for one sequence); the loop ends every sequence at ``n_ctx``
tokens, so each has ``n_ctx`` of its own and they always fit.
"""

from __future__ import annotations

import functools
import queue
import time
from collections.abc import Iterator, Sequence
from typing import Any

from ..types import (
    BadRequest,
    CancelToken,
    ChatMessage,
    EngineError,
    GenerationOptions,
    GenerationResult,
)
from .base import TokenChunk
from .batch_loop import BatchLoop, Finished, SeqRequest
from .llama import (
    LlamaModel,
    LLMSpec,
    check_logit_bias,
    default_threads,
    end_of_generation_tokens,
    generation_result,
    ignore_eos,
    import_llama,
    request_error,
)

__all__ = ["PREFILL_CHUNK", "BatchedLlamaModel", "make_llama_model"]

PREFILL_CHUNK = 128  # prompt tokens decoded per step next to the running sequences
PREFILL_ALONE = 512  # ... and when no sequence is generating (as Llama's n_batch)
_FORMAT_CTX = 64  # the formatting Llama's own context: never decodes, kept small

# create_completion settings the chat handler passes that the sampler uses
_SAMPLING_KEYS = (
    "top_k",
    "min_p",
    "typical_p",
    "repeat_penalty",
    "frequency_penalty",
    "presence_penalty",
)


class _Tagged(queue.SimpleQueue):
    """A request's event queue that puts ``(index, event)`` on one queue shared by the
    ``n`` choices of a generation, so one reader follows them all."""

    def __init__(self, shared: queue.SimpleQueue[tuple[int, Any]], index: int) -> None:
        self.shared = shared
        self.index = index

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self.shared.put((self.index, item))


class _PromptReady(Exception):
    """Carries what the chat handler would have passed to ``create_completion``."""

    def __init__(self, prompt: Any, settings: dict[str, Any]) -> None:
        super().__init__("prompt ready")
        self.prompt = prompt
        self.settings = settings


@functools.cache
def _formatting_llama_class() -> type:
    """A ``Llama`` whose ``create_completion`` hands back the prompt instead of decoding."""

    class FormattingLlama(import_llama()):  # type: ignore[misc]
        def create_completion(self, prompt: Any, **settings: Any) -> Any:
            raise _PromptReady(prompt, settings)

    return FormattingLlama


def make_llama_model(spec: LLMSpec) -> LlamaModel:
    """The model for a spec: batched when ``spec.slots > 1``, else the single-sequence one."""
    return BatchedLlamaModel(spec) if spec.slots > 1 else LlamaModel(spec)


class BatchedLlamaModel(LlamaModel):
    """One resident GGUF model with ``spec.slots`` sequence slots; ``generate`` is thread-safe
    (it is ``LlamaModel.generate`` around this class's ``_decode``)."""

    def __init__(self, spec: LLMSpec, prefill_chunk: int = PREFILL_CHUNK) -> None:
        super().__init__(spec)
        self.prefill_chunk = prefill_chunk
        self._ctx: Any = None
        self._loop: BatchLoop | None = None

    def describe(self) -> dict[str, Any]:
        """``LlamaModel.describe`` plus the batch: running, waiting, KV use, tokens/s."""
        loop = self._loop
        batch = loop.stats() if loop is not None else {"slots": self.spec.slots}
        return {**super().describe(), "batch": batch}

    def _load_detail(self) -> str:
        return f"{self.spec.path.name} on {self.device}, {self.spec.slots} slots"

    def _open(self) -> None:
        """Load the weights, the formatting ``Llama`` and the batch context and loop."""
        import llama_cpp as ll

        self._require_weights()
        threads = self.spec.n_threads or default_threads()
        self._llama = _formatting_llama_class()(
            model_path=str(self.spec.path),
            n_ctx=_FORMAT_CTX,
            n_batch=_FORMAT_CTX,
            n_gpu_layers=self.spec.n_gpu_layers,
            chat_format=self.spec.chat_format,
            n_threads=threads,
            verbose=False,
        )
        params = ll.llama_context_default_params()
        params.n_ctx = self.spec.n_ctx * self.spec.slots
        alone = max(PREFILL_ALONE, self.prefill_chunk)
        params.n_batch = params.n_ubatch = max(alone, self.prefill_chunk + self.spec.slots)
        params.n_seq_max = self.spec.slots
        params.n_threads = params.n_threads_batch = threads
        params.no_perf = True
        params.flash_attn_type = ll.LLAMA_FLASH_ATTN_TYPE_DISABLED  # as Llama()
        params.kv_unified = True  # one cache; the loop keeps each sequence to n_ctx
        model = self._llama._model.model
        self._ctx = ll.llama_init_from_model(model, params)
        if not self._ctx:
            raise EngineError("llama.cpp could not create the batch context")
        vocab = self._llama._model.vocab
        ban = end_of_generation_tokens(vocab, self._llama.n_vocab()) if ignore_eos() else []
        self._loop = BatchLoop(
            model,
            self._ctx,
            self.spec.slots,
            self.spec.n_ctx,
            (self.prefill_chunk, alone),
            ban,
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
        super()._release()

    def prompt(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        tools: list[dict[str, Any]] | None = None,
    ) -> tuple[list[int], tuple[str, ...], dict[str, Any]]:
        """Prompt tokens, stop strings and sampler settings, as the chat handler makes them
        (with ``tools``, the functions offered, written in by the chat template)."""
        self._require_ready()
        try:
            try:
                self._llama.create_chat_completion(
                    messages=[m.to_dict() for m in messages],
                    temperature=options.temperature,
                    top_p=options.top_p,
                    stop=list(options.stop) or None,
                    seed=options.seed,
                    max_tokens=options.max_tokens,
                    tools=tools,
                )
            except _PromptReady as ready:
                prompt, settings = ready.prompt, ready.settings
            else:  # pragma: no cover - a handler that decodes by other means
                raise EngineError(f"chat format {self.spec.chat_format!r} cannot be batched")
            if isinstance(prompt, str | bytes):
                raw = prompt.encode("utf-8") if isinstance(prompt, str) else prompt
                prompt = self._llama.tokenize(raw, add_bos=True, special=True)
        except EngineError:
            raise
        except Exception as exc:  # nothing was decoded: the messages are at fault
            error = request_error(exc, self.spec.n_ctx) or BadRequest(
                f"the model's chat template refuses these messages: {exc}"
            )
            raise error from exc
        stop = settings.get("stop") or []
        stops = (stop,) if isinstance(stop, str) else tuple(stop)
        sampling = {k: settings[k] for k in _SAMPLING_KEYS if k in settings}
        sampling.update(
            temperature=options.temperature,
            top_p=options.top_p,
            seed=options.seed,
            presence_penalty=options.presence_penalty,
            frequency_penalty=options.frequency_penalty,
            bias=check_logit_bias(options.logit_bias, self._llama.n_vocab()),
        )
        return list(prompt), stops, sampling

    def _decode(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken | None,
        tools: list[dict[str, Any]] | None,
        grammar: str | None,
    ) -> Iterator[TokenChunk | GenerationResult]:
        """Stream a chat completion in the shared batch; many threads may call this at once.

        Raises ``BadRequest`` when the prompt does not fit one slot's context.
        Cancelling (or closing the iterator) ends the sequence within one step.
        """
        started = time.perf_counter()
        tokens, stops, sampling = self.prompt(messages, options, tools)
        if len(tokens) >= self.spec.n_ctx:
            raise BadRequest(
                f"the prompt ({len(tokens)} tokens) does not fit in the model's context "
                f"of {self.spec.n_ctx} tokens"
            )
        loop = self._loop
        if loop is None:
            raise EngineError(f"model {self.name!r} is not loaded")
        shared: queue.SimpleQueue[tuple[int, str | Finished]] = queue.SimpleQueue()
        reqs = []
        for index in range(options.n):  # choice i samples with seed + i: n different answers
            seed = sampling.get("seed")
            varied = {**sampling, "seed": seed + index if seed is not None else None}
            reqs.append(
                SeqRequest(
                    tokens,
                    varied,
                    options.max_tokens,
                    stops,
                    cancel,
                    grammar=grammar,
                    logprobs=options.logprobs,
                    events=_Tagged(shared, index),
                )
            )
        for req in reqs:
            loop.submit(req)
        pieces: list[list[str]] = [[] for _ in reqs]
        scored = [0 for _ in reqs]  # of each req.scored, given out with the chunks so far
        finals: dict[int, Finished] = {}
        try:
            while len(finals) < len(reqs):
                index, item = shared.get()
                if isinstance(item, Finished):
                    finals[index] = item
                    continue
                pieces[index].append(item)
                fresh = tuple(reqs[index].scored[scored[index] :])  # added before the text
                scored[index] += len(fresh)
                yield TokenChunk(item, fresh, index)
        finally:
            for req in reqs:
                req.abandoned = True  # a no-op once finished; else the loop drops it
        for final in finals.values():
            if final.error is not None:
                error = request_error(final.error, self.spec.n_ctx)
                if error is not None:  # e.g. the sampler refused the grammar
                    raise error from final.error
                raise EngineError(f"generation failed: {final.error}") from final.error
        results = []
        for index, req in enumerate(reqs):
            final = finals[index]
            result = generation_result(
                self.name,
                "".join(pieces[index]),
                final.finish,
                (final.prompt_tokens, final.completion_tokens),
                started,
                final.first_token_at,
                final.ended,
                final.prompt_span,
            )
            if options.logprobs is not None:
                result.logprobs = list(req.scored)
            results.append(result)
        first, others = results[0], results[1:]
        first.usage.completion_tokens = sum(r.usage.completion_tokens for r in results)
        first.others = others
        yield first
