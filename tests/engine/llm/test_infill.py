"""Code completion (fill-in-the-middle) on the real demo model: its FIM tokens, found in its
vocabulary; the gaps filled; the cached prefix reused; completions ahead of other requests."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from neira_jupyter.engine.llm import LlamaModel, LLMSpec, TokenChunk
from neira_jupyter.engine.llm.fim import Marker
from neira_jupyter.engine.types import (
    CancelToken,
    ChatMessage,
    GenerationOptions,
    GenerationResult,
    Infill,
)
from tests.conftest import loads_model
from tests.support.models import qwen_path

GAPS = [  # (prefix, suffix, the middle): the six gaps of the issue
    ("def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n", "a + b"),
    ("import numpy as np\n\ndef average(x):\n    return ", "\n", "np.mean(x)"),
    (
        "def count(xs):\n    total = ",
        "\n    for x in xs:\n        total += 1\n    return total\n",
        "0",
    ),
    ("names = ['a', 'b']\nfor i, name in ", ":\n    print(i, name)\n", "enumerate(names)"),
    ("with open('notes.txt') as f:\n    text = f.", "\nprint(text)\n", "read()"),
    ("import json\n\nwith open('data.json') as f:\n    data = json.load(", ")\n", "f"),
]


@pytest.fixture(scope="module")
@loads_model
def qwen() -> Iterator[LlamaModel]:
    model = LlamaModel(LLMSpec(name="qwen", path=qwen_path(), n_ctx=1024, slots=2))
    model.load()
    yield model
    model.close()


def fill(model: LlamaModel, infill: Infill, max_tokens: int = 24) -> tuple[str, GenerationResult]:
    options = GenerationOptions(max_tokens=max_tokens, temperature=0.0, infill=infill)
    chunks: list[str] = []
    result = None
    for item in model.generate([], options):
        if isinstance(item, TokenChunk):
            chunks.append(item.text)
        else:
            result = item
    assert result is not None
    assert "".join(chunks) == result.text
    return result.text, result


def test_the_demo_model_is_a_qwen_fim_model(qwen: LlamaModel) -> None:
    assert qwen.fim_family == "qwen"
    prompt = qwen.prompt([], GenerationOptions(infill=Infill("x = ", "\n")))
    llama = qwen._formatter.llama  # type: ignore[union-attr]
    text = llama.detokenize(prompt.tokens, special=True).decode()
    assert text == "<|fim_prefix|>x = <|fim_suffix|>\n<|fim_middle|>"
    # a marker's text inside the code stays text: it is not the marker's token
    forged = qwen.prompt([], GenerationOptions(infill=Infill("s = '<|fim_middle|>'", "")))
    middle = llama.tokenize(b"<|fim_middle|>", add_bos=False, special=True)
    assert forged.tokens.count(middle[0]) == 1
    assert Marker("<|fim_prefix|>") in qwen._infill.template.pieces("a", "b")  # type: ignore[union-attr]


@pytest.mark.parametrize(("prefix", "suffix", "middle"), GAPS, ids=[g[2] for g in GAPS])
def test_gaps_are_filled_and_the_suffix_never_repeated(qwen, prefix, suffix, middle):
    text, result = fill(qwen, Infill(prefix, suffix))
    assert text == middle
    assert result.finish_reason == "stop"


def test_other_cells_come_first_and_the_prefix_is_reused(qwen: LlamaModel) -> None:
    cells = (
        "import numpy as np\nvalues = np.arange(10)\n",
        "def spread(x):\n    return x.max() - x.min()\n",
    )
    typed = "print(spread(val"
    fill(qwen, Infill(typed, ")\n", cells), max_tokens=8)
    text, result = fill(qwen, Infill(typed + "u", ")\n", cells), max_tokens=8)
    # everything before the keystroke was in the cache (the cells, then the cell's prefix)
    assert result.usage.prompt_tokens_reused >= result.usage.prompt_tokens - 6
    assert text.startswith("es")


def test_a_model_without_fim_tokens_gets_an_instruction(qwen: LlamaModel) -> None:
    infill = qwen._infill
    assert infill is not None
    template, infill.template = infill.template, None
    try:
        text, _ = fill(qwen, Infill("def add(a, b):\n    return ", "\n"), max_tokens=32)
    finally:
        infill.template = template
    assert "```" not in text and "<CURSOR>" not in text
    assert "a + b" in text


def qwen_end_tokens(model: LlamaModel) -> list[int]:
    llama = model._formatter.llama  # type: ignore[union-attr]
    return [
        llama.tokenize(t, add_bos=False, special=True)[0] for t in (b"<|im_end|>", b"<|endoftext|>")
    ]


def test_completions_go_ahead_of_waiting_generations(qwen: LlamaModel) -> None:
    """Both slots busy with answers and one more answer waiting for a slot: a completion
    asked for later still gets the next free slot, before the answer that waited longer."""
    order: list[str] = []
    cancel = CancelToken()
    lock = threading.Lock()
    never_end = tuple((t, -100.0) for t in qwen_end_tokens(qwen))

    def answer(name: str, max_tokens: int) -> threading.Thread:
        def run() -> None:
            options = GenerationOptions(
                max_tokens=max_tokens, temperature=0.0, logit_bias=never_end
            )
            for item in qwen.generate([ChatMessage("user", "Count to 100.")], options, cancel):
                if isinstance(item, TokenChunk):
                    with lock:
                        if name not in order:
                            order.append(name)

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    threads = [answer("short", 64), answer("long", 400)]
    while len(order) < 2:
        threading.Event().wait(0.01)
    threads.append(answer("waiting", 400))
    while qwen.describe()["batch"]["waiting"] < 1:  # "waiting" is queued before the completion
        threading.Event().wait(0.01)
    text, _ = fill(qwen, Infill("def add(a, b):\n    return ", "\n"), max_tokens=8)
    with lock:
        order.append("completion")
    cancel.cancel()
    for thread in threads:
        thread.join()
    assert text == "a + b"
    # the slot "short" left went to the completion; "waiting" had none before it ended
    assert sorted(order[:2]) == ["long", "short"] and order[2:] == ["completion"]
