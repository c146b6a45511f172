"""What a request causes is the request's error (``BadRequest``), never the model's.

One test per cause, on the real demo model and its batch loop (the one decode
path), and once through a real server: bad requests of every kind,
more of them than ``max_local_attempts``, leave the primary healthy.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import time
from collections.abc import Iterator
from typing import Any

import pytest

from neira_jupyter.engine.llm import LlamaModel, LLMSpec
from neira_jupyter.engine.llm.generation import BatchGeneration
from neira_jupyter.engine.types import (
    BadRequest,
    ChatMessage,
    GenerationOptions,
    GenerationResult,
    ToolChoice,
)
from tests.conftest import Fetch, get_status, wait_ready
from tests.support.models import qwen_path

SLOT_CTX = 128

# a lone surrogate is valid JSON ("\ud800") but not valid Unicode text
LONE_SURROGATE = json.loads('"\\ud800"')
TOOLS = json.dumps(
    [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]
)


@pytest.fixture(scope="module")
def model() -> Iterator[LlamaModel]:
    llm = LlamaModel(LLMSpec(name="qwen", path=qwen_path(), n_ctx=SLOT_CTX, slots=2))
    llm.load()
    yield llm
    llm.close()


def generate(model: LlamaModel, messages: list[ChatMessage], **options: Any) -> GenerationResult:
    """Run one generation to its result."""
    events = list(model.generate(messages, GenerationOptions(max_tokens=2, **options)))
    result = events[-1]
    assert isinstance(result, GenerationResult)
    return result


def ask(text: str) -> list[ChatMessage]:
    return [ChatMessage("user", text)]


CAUSES: dict[str, tuple[list[ChatMessage], dict[str, Any], str]] = {
    # the demo's template reads messages[0]: no message at all is refused
    "chat template": ([], {}, "chat template"),
    "prompt text": (ask(f"a{LONE_SURROGATE}b"), {}, "Unicode"),
    "prompt length": (ask("word " * SLOT_CTX), {}, "context"),
    "schema": (ask("Hi"), {"json_schema": '{"type": "string", "pattern": "(("}'}, "field"),
    "logit bias": (ask("Hi"), {"logit_bias": ((10**9, 1.0),)}, "logit_bias"),
    "tool choice": (ask("Hi"), {"tools": ToolChoice(TOOLS, name="nope")}, "tool_choice"),
}


@pytest.mark.parametrize("cause", list(CAUSES))
def test_each_cause_is_a_bad_request(model: LlamaModel, cause: str) -> None:
    messages, options, says = CAUSES[cause]
    with pytest.raises(BadRequest) as error:
        generate(model, messages, **options)
    assert says in str(error.value)
    assert generate(model, ask("Hi")).usage.completion_tokens > 0  # the model serves on


def test_a_grammar_llama_cpp_refuses_is_a_bad_request(model: LlamaModel) -> None:
    """The converters write grammars llama.cpp parses; one it cannot is still the request's."""
    options = GenerationOptions(max_tokens=2)
    prompt = dataclasses.replace(model.prompt(ask("Hi"), options), grammar="root ::= (")
    ended: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()
    generation = BatchGeneration(
        model.name, prompt, options, None, time.perf_counter(), print, lambda _r, e: ended.put(e)
    )
    for request in generation.requests:
        model._ready()[1].submit(request)
    error = ended.get(timeout=60)
    assert isinstance(error, BadRequest) and "structured output" in str(error)


async def test_bad_requests_never_count_against_the_model(jp_fetch: Fetch) -> None:
    await wait_ready(jp_fetch)
    bodies: list[dict[str, Any]] = [
        {"prompt": "word " * 5000},  # longer than the context
        {"prompt": "Hi", "json_schema": {"type": "string", "pattern": "(("}},
        {"prompt": "Hi", "logit_bias": {"999999999": 1}},
        {"messages": [{"role": "user", "content": "Hi"}], "tools": [{"type": "function",
            "function": {"name": "add"}}], "tool_choice": {"type": "function",
            "function": {"name": "nope"}}},
    ]  # fmt: skip
    for body in bodies:
        for _ in range(3):  # more than max_local_attempts
            response = await jp_fetch(
                "neira",
                "api",
                "generate",
                method="POST",
                body=json.dumps({**body, "max_tokens": 2, "stream": False}),
                raise_error=False,
            )
            assert response.code == 400, (body, response.body)
    status = await get_status(jp_fetch)
    assert status["backends"]["primary"]["failures"] == 0
    assert status["route"]["backend"] == "primary"
