"""The embedding lane with the demo all-MiniLM-L6-v2: conversion, batching, limits, usage.

The demo GGUF is converted from its PyPI package deterministically (the same
bytes twice, the recorded size and SHA-256); requests waiting together are
embedded in one llama.cpp call; an input past the model's context is refused
alone, naming its index; the tokens embedded reach the usage observers.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neira_jupyter.engine.embedding import (
    EMBEDDING_LANE,
    MAX_EMBEDDING_TOKENS,
    EmbeddingService,
    EmbeddingSpec,
    InputTooLong,
    embedding_context,
)
from neira_jupyter.engine.lanes import LaneActions
from neira_jupyter.engine.models import demo_embedding_path, demo_llm_path
from neira_jupyter.engine.models.demo import DEMO_EMBEDDING_NAME, DEMO_FILES, _minilm_sources
from neira_jupyter.engine.models.store import hash_file
from neira_jupyter.engine.schedule import Scheduler
from tests.conftest import loads_model

pytestmark = pytest.mark.model


def test_the_conversion_is_deterministic(tmp_path: Path) -> None:
    item = DEMO_FILES[DEMO_EMBEDDING_NAME]
    assert item.build is not None
    for name in ("a.gguf", "b.gguf"):
        item.build(_minilm_sources(), tmp_path / name)
        assert (tmp_path / name).stat().st_size == item.size
        assert hash_file(tmp_path / name) == item.sha256


@pytest.fixture(scope="module")
@loads_model
def model_path() -> Path:
    path = demo_embedding_path()
    assert path is not None, "pip install 'neira-jupyter[demo]'"
    return path


@pytest.fixture
def service(model_path: Path) -> Iterator[tuple[Scheduler, EmbeddingService]]:
    scheduler = Scheduler(capacity=16)
    service = EmbeddingService(
        EmbeddingSpec("minilm", model_path, n_threads=2), scheduler, LaneActions(scheduler)
    )
    service.add_lanes()
    yield scheduler, service
    scheduler.stop()
    if service.model is not None:
        service.model.close()


async def test_waiting_requests_are_embedded_in_one_call(
    service: tuple[Scheduler, EmbeddingService],
) -> None:
    scheduler, embeddings = service
    gate = threading.Event()
    blocker = scheduler.submit_internal(EMBEDDING_LANE, lambda _c, _e: gate.wait(60))
    tasks = [
        asyncio.create_task(embeddings.embed(f"user{i % 2}", [f"sentence {i}", "hello"]))
        for i in range(4)
    ]
    while scheduler.waiting(EMBEDDING_LANE) < 4:  # all four queued behind the gate
        await asyncio.sleep(0.01)
    gate.set()
    await blocker.wait()
    results = await asyncio.gather(*tasks)
    assert embeddings.batches == 1
    for result in results:
        vectors = np.array(result.vectors)
        assert vectors.shape == (2, 384)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert np.allclose(results[0].vectors[1], results[3].vectors[1], atol=1e-5)


async def test_a_long_input_is_refused_alone(
    service: tuple[Scheduler, EmbeddingService],
) -> None:
    scheduler, embeddings = service
    gate = threading.Event()
    scheduler.submit_internal(EMBEDDING_LANE, lambda _c, _e: gate.wait(60))
    long = asyncio.create_task(embeddings.embed("a", ["fine", "word " * 600]))
    short = asyncio.create_task(embeddings.embed("b", ["fine"]))
    while scheduler.waiting(EMBEDDING_LANE) < 2:
        await asyncio.sleep(0.01)
    gate.set()
    with pytest.raises(InputTooLong, match=r"input\[1\] has 602 tokens.*at most 512"):
        await long
    assert len((await short).vectors) == 1


class Tokens:
    def __init__(self) -> None:
        self.tokens: dict[str, int] = {}

    def add_tokens(self, user: str, tokens: int) -> None:
        self.tokens[user] = self.tokens.get(user, 0) + tokens

    def add_audio(self, user: str, seconds: float) -> None:
        raise AssertionError("no audio here")


async def test_embedded_tokens_reach_the_usage_observers(model_path: Path) -> None:
    from neira_jupyter.engine.config import build_engine_config
    from neira_jupyter.engine.service import NeiraEngine
    from neira_jupyter.options import NeiraApp

    values: dict[str, Any] = {
        **NeiraApp.option_defaults(),
        "llm_enabled": False,
        "speech_local": False,
        "eager_load": False,
        "primary_path": str(model_path),  # never loaded: llm_enabled is off
        "fallback_path": str(model_path.with_name("none.gguf")),
    }
    engine = NeiraEngine(build_engine_config(values))
    observer = Tokens()
    engine.usage_observers.append(observer)
    engine.start()
    try:
        embedded = await engine.embed("ada", ["Hello world", "unbelievable"])
        assert embedded.tokens == observer.tokens["ada"] > 4
    finally:
        await engine.stop()


def test_the_context_is_the_models_own_up_to_the_cap(tmp_path: Path) -> None:
    """MiniLM's GGUF says 512; the demo LLM's says 32768, more than any input may be (a
    model like BGE-M3 says 8192); a file whose header cannot be read gets the cap."""
    minilm, qwen = demo_embedding_path(), demo_llm_path()
    assert minilm is not None and qwen is not None
    assert embedding_context(minilm) == 512
    assert embedding_context(qwen) == MAX_EMBEDDING_TOKENS < 32768
    (tmp_path / "junk.gguf").write_bytes(b"not a gguf")
    assert embedding_context(tmp_path / "junk.gguf") == MAX_EMBEDDING_TOKENS
