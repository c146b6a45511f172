"""Prompts parked beyond the slots (``llm_prompt_cache_tokens``) on the real demo GGUF.

One slot, so every new prompt takes the cells of the one before: without the
cache a prompt asked again is read again; with it, the parked cells are
shared and the answer is the same.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from neira_jupyter.engine.llm import LlamaModel, LLMSpec, TokenChunk
from neira_jupyter.engine.types import ChatMessage, GenerationOptions, GenerationResult
from tests.conftest import loads_model
from tests.support.models import qwen_path

pytestmark = pytest.mark.model

GREEDY = GenerationOptions(max_tokens=6, temperature=0.0, seed=0)
TOPICS = ["planets of the solar system", "sorting algorithms", "the rivers of Europe"]


def question(topic: str) -> list[ChatMessage]:
    system = f"You are a teacher who knows {topic} well; answer in one short sentence. " * 3
    return [ChatMessage("system", system), ChatMessage("user", f"Name one of the {topic}.")]


def one_slot(cache_tokens: int) -> LlamaModel:
    spec = LLMSpec(
        name="qwen", path=qwen_path(), n_ctx=256, slots=1, prompt_cache_tokens=cache_tokens
    )
    model = LlamaModel(spec)
    model.load()
    return model


def ask(model: LlamaModel, messages: list[ChatMessage]) -> GenerationResult:
    results = [i for i in model.generate(messages, GREEDY) if not isinstance(i, TokenChunk)]
    assert len(results) == 1 and isinstance(results[0], GenerationResult)
    return results[0]


@pytest.fixture(scope="module")
@loads_model
def cached() -> Iterator[LlamaModel]:
    model = one_slot(cache_tokens=1024)
    yield model
    model.close()


def test_a_prompt_asked_again_after_others_took_the_slot_is_found_parked(
    cached: LlamaModel,
) -> None:
    first = [ask(cached, question(topic)) for topic in TOPICS]
    again = ask(cached, question(TOPICS[0]))  # the slot holds the third one's cells
    length = len(cached.prompt(question(TOPICS[0]), GREEDY).tokens)
    assert again.usage.prompt_tokens_reused >= length - 12  # all but the last few tokens
    assert again.text == first[0].text
    batch = cached.describe()["batch"]
    assert batch["cached_prompts"] >= 2
    assert 0 < batch["cached_prompt_tokens"] <= 1024


@loads_model
def test_without_the_cache_the_slot_forgets() -> None:
    model = one_slot(cache_tokens=0)
    try:
        for topic in TOPICS:
            ask(model, question(topic))
        again = ask(model, question(TOPICS[0]))
        length = len(model.prompt(question(TOPICS[0]), GREEDY).tokens)
        assert again.usage.prompt_tokens_reused < length // 2  # only the shared template
        assert model.describe()["batch"]["cached_prompts"] == 0
    finally:
        model.close()


@loads_model
def test_the_parked_prompt_being_shared_is_never_the_one_evicted() -> None:
    """Room for one parked prompt: asking for the parked one again must park the slot's
    (which needs the room) yet keep the one it shares: the slot's is not parked then."""
    probe = one_slot(cache_tokens=0)
    try:
        sizes = [len(probe.prompt(question(topic), GREEDY).tokens) for topic in TOPICS[:2]]
    finally:
        probe.close()
    model = one_slot(cache_tokens=max(sizes) + GREEDY.max_tokens + 8)
    try:
        a = ask(model, question(TOPICS[0]))
        ask(model, question(TOPICS[1]))  # parks the first one's cells: the cache is full
        again = ask(model, question(TOPICS[0]))  # shares them while the slot's need the room
        assert again.text == a.text
        assert again.usage.prompt_tokens_reused >= sizes[0] - 12
        assert ask(model, question(TOPICS[1])).text  # the loop still decodes
    finally:
        model.close()
