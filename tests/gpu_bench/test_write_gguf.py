"""The GPU benchmark's random-weight GGUF writer: the real Mistral 7B layout, and a tiny model
of the same kind that llama.cpp loads and generates with."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from gguf import GGMLQuantizationType, GGUFReader
from write_gguf import SHAPES, _tensors, synthetic_vocab, write_random_gguf


def test_the_7b_layout_has_mistral_7b_parameters() -> None:
    layout = _tensors(SHAPES["mistral-7b"])
    params = sum(math.prod(dims) for _, dims, _ in layout)
    assert 7.2e9 < params < 7.3e9  # Mistral-7B-v0.3: 7.25 billion
    assert len(layout) == 2 + 32 * 9 + 1


def test_the_vocabulary_covers_every_byte() -> None:
    tokens, scores, types = synthetic_vocab(32768)
    assert len(tokens) == len(set(tokens)) == len(scores) == len(types) == 32768
    assert tokens[:3] == ["<unk>", "<s>", "</s>"] and tokens[3 + 0x41] == "<0x41>"


def test_the_tiny_file_reads_back(tmp_path: Path) -> None:
    path = write_random_gguf(tmp_path / "tiny.gguf", SHAPES["tiny"])
    reader = GGUFReader(path)
    tensors = {t.name: t for t in reader.tensors}
    assert len(tensors) == len(_tensors(SHAPES["tiny"]))
    q = tensors["blk.0.attn_q.weight"]
    assert q.tensor_type == GGMLQuantizationType.Q4_K and list(q.shape) == [256, 256]
    assert tensors["blk.1.ffn_down.weight"].shape.tolist() == [512, 256]
    assert tensors["output_norm.weight"].tensor_type == GGMLQuantizationType.F32
    arch = reader.fields["general.architecture"]
    assert bytes(arch.parts[arch.data[0]]) == b"llama"


@pytest.mark.model
def test_llama_cpp_loads_and_generates_with_the_tiny_model(tmp_path: Path) -> None:
    from llama_cpp import Llama

    path = write_random_gguf(tmp_path / "tiny.gguf", SHAPES["tiny"])
    llm = Llama(str(path), n_ctx=256, n_threads=2, verbose=False)
    try:
        assert llm.n_vocab() == 512
        assert llm.tokenize("Hello, GPU! Привет".encode())  # byte fallback: any text
        out = llm("Open the notebook", max_tokens=4, temperature=0.0, stream=False)
        assert isinstance(out, dict) and out["usage"]["completion_tokens"] >= 1
        chat = llm.create_chat_completion(
            [{"role": "user", "content": "hi"}], max_tokens=2, stream=False
        )
        assert isinstance(chat, dict)
        assert chat["usage"]["prompt_tokens"] > 2  # the GGUF's [INST] template was applied
    finally:
        llm.close()
