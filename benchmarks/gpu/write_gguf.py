"""Write a llama-architecture GGUF with random Q4_K weights: Mistral 7B's shape, or a tiny one.

    python benchmarks/gpu/write_gguf.py OUT.gguf [--shape mistral-7b|tinyllama-1b|tiny] [--seed 0]

The kernels and the memory traffic are those of the real model (the same
tensors, shapes and quantization: every matrix Q4_K, about 4.1 GB at the 7B
shape; the real Q4_K_M keeps ``output`` and half of ``attn_v``/``ffn_down``
in Q6_K, 4.4 GB), only the text is noise. The tokenizer is a synthetic
SentencePiece ("llama") vocabulary of the same size: ``<unk>``, ``<s>``,
``</s>``, the 256 byte tokens (so any text tokenizes) and letter pieces, with
a small ``[INST]`` chat template. Written with the ``gguf`` package, one
tensor at a time (``add_tensor_info`` first, then ``write_tensor_data``), so
memory stays at one tensor's size.

A Q4_K block holds 256 weights in 144 bytes: two float16 scales (``d``,
``dmin``), 12 bytes of 6-bit sub-block scales and mins, 128 bytes of 4-bit
quants. Random bytes are valid for the last two; ``d`` and ``dmin`` are set
to a small finite value so every weight is finite and of the size a trained
model's are (|w| < 0.05).
"""

from __future__ import annotations

import argparse
import itertools
import string
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["SHAPES", "Shape", "synthetic_vocab", "write_random_gguf"]

QK_K, Q4_K_BYTES = 256, 144
SCALE = np.float16(5e-5)  # d and dmin: |w| <= d * 63 * 15 ~ 0.05
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'assistant' %}"
    "{{ m['content'] }}{{ eos_token }}{% else %}[INST] {{ m['content'] }} [/INST]"
    "{% endif %}{% endfor %}"
)


@dataclass(frozen=True)
class Shape:
    """A llama-architecture model's hyperparameters (Mistral 7B v0.3's by default)."""

    name: str = "mistral-7b-shaped-random"
    n_vocab: int = 32768
    n_embd: int = 4096
    n_layer: int = 32
    n_head: int = 32
    n_head_kv: int = 8
    n_ff: int = 14336
    n_ctx_train: int = 32768
    rope_base: float = 1_000_000.0

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


SHAPES = {
    "mistral-7b": Shape(),
    # the pressure switch's fallback: TinyLlama 1.1B's shape (about 0.6 GB in Q4_K)
    "tinyllama-1b": Shape(
        "tinyllama-1b-shaped-random",
        n_embd=2048,
        n_layer=22,
        n_head=32,
        n_head_kv=4,
        n_ff=5632,
        n_ctx_train=2048,
        rope_base=10000.0,
    ),
    "tiny": Shape(
        "tiny-random",
        n_vocab=512,
        n_embd=256,
        n_layer=2,
        n_head=4,
        n_head_kv=2,
        n_ff=512,
        n_ctx_train=2048,
        rope_base=10000.0,
    ),
}


def synthetic_vocab(n_vocab: int) -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and types of a SentencePiece vocabulary of ``n_vocab`` entries:
    ``<unk>``, ``<s>``, ``</s>``, the 256 ``<0xNN>`` byte tokens, then pieces."""
    from gguf import TokenType

    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL]
    types += [TokenType.BYTE] * 256
    letters = string.ascii_lowercase

    def pieces() -> itertools.chain[str]:
        singles = [*letters, *string.digits, *".,:;!?'\"()[]/-_"]
        words = (
            "".join(p) for n in itertools.count(2) for p in itertools.product(letters, repeat=n)
        )
        return itertools.chain(("\u2581" + s for s in singles), singles,
                               (w2 for w in words for w2 in ("\u2581" + w, w)))  # fmt: skip

    need = n_vocab - len(tokens)
    if need < 0:
        raise ValueError(f"n_vocab must be at least {len(tokens)}")
    tokens += list(itertools.islice(pieces(), need))
    types += [TokenType.NORMAL] * need
    scores = [0.0] * 259 + [-float(i) for i in range(need)]
    return tokens, scores, [int(t) for t in types]


def _tensors(shape: Shape) -> list[tuple[str, tuple[int, ...], bool]]:
    """(name, numpy shape rows x columns, quantized) of every tensor, in file order."""
    e, kv, ff = shape.n_embd, shape.n_head_kv * shape.head_dim, shape.n_ff
    out: list[tuple[str, tuple[int, ...], bool]] = [("token_embd.weight", (shape.n_vocab, e), True)]
    for i in range(shape.n_layer):
        b = f"blk.{i}."
        out += [
            (b + "attn_norm.weight", (e,), False),
            (b + "attn_q.weight", (e, e), True),
            (b + "attn_k.weight", (kv, e), True),
            (b + "attn_v.weight", (kv, e), True),
            (b + "attn_output.weight", (e, e), True),
            (b + "ffn_norm.weight", (e,), False),
            (b + "ffn_gate.weight", (ff, e), True),
            (b + "ffn_up.weight", (ff, e), True),
            (b + "ffn_down.weight", (e, ff), True),
        ]
    out += [("output_norm.weight", (e,), False), ("output.weight", (shape.n_vocab, e), True)]
    return out


def _q4k(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """``rows x cols`` random Q4_K weights as the bytes llama.cpp reads (rows x blocks*144)."""
    if cols % QK_K:
        raise ValueError(f"a Q4_K row needs a multiple of {QK_K} columns, not {cols}")
    blocks = rows * cols // QK_K
    data = np.frombuffer(bytearray(rng.bytes(blocks * Q4_K_BYTES)), dtype=np.uint8)
    view = data.reshape(blocks, Q4_K_BYTES)
    scales = np.array([SCALE, SCALE], dtype="<f2").view(np.uint8)
    view[:, 0:4] = scales
    return data.reshape(rows, cols // QK_K * Q4_K_BYTES)


def write_random_gguf(path: Path, shape: Shape, seed: int = 0) -> Path:
    """Write ``shape`` with random Q4_K weights (float32 ones for the norms) to ``path``."""
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(shape.name)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)
    writer.add_context_length(shape.n_ctx_train)
    writer.add_embedding_length(shape.n_embd)
    writer.add_block_count(shape.n_layer)
    writer.add_feed_forward_length(shape.n_ff)
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_rope_dimension_count(shape.head_dim)
    writer.add_rope_freq_base(shape.rope_base)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(shape.n_vocab)
    tokens, scores, types = synthetic_vocab(shape.n_vocab)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)
    layout = _tensors(shape)
    for name, dims, quantized in layout:
        if quantized:
            rows, cols = dims
            nbytes = rows * cols // QK_K * Q4_K_BYTES
            writer.add_tensor_info(name, (rows, cols // QK_K * Q4_K_BYTES), np.dtype(np.uint8),
                                   nbytes, raw_dtype=gguf.GGMLQuantizationType.Q4_K)  # fmt: skip
        else:
            writer.add_tensor_info(name, dims, np.dtype(np.float32), int(np.prod(dims)) * 4)
    writer.write_header_to_file(path)
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    rng = np.random.default_rng(seed)
    for _, dims, quantized in layout:
        tensor = _q4k(dims[0], dims[1], rng) if quantized else np.ones(dims, dtype=np.float32)
        writer.write_tensor_data(tensor)
    writer.close()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="mistral-7b")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    write_random_gguf(args.out, SHAPES[args.shape], args.seed)
    size = args.out.stat().st_size / 2**30
    took = time.perf_counter() - started
    print(f"wrote {args.out} ({args.shape}, {size:.2f} GiB) in {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
