"""What a GGUF model will need before it is loaded: weights, KV cache, compute buffers.

``estimate_model_memory`` works the way Ollama does: the file (weights) plus
the KV cache for its context, computed from the model's own metadata (layers,
embedding width, head counts), plus a margin for llama.cpp's compute buffers.

The header is read by ``gguf_header.read_gguf_metadata`` (key names from the
``gguf`` package); both are imported on the first estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .readings import MIB

__all__ = ["MemoryEstimate", "estimate_model_memory"]


@dataclass(frozen=True)
class MemoryEstimate:
    """What loading a GGUF model will take: weights + KV cache + compute buffers."""

    file_bytes: int
    kv_bytes: int
    overhead_bytes: int
    note: str = ""

    @property
    def total_bytes(self) -> int:
        return self.file_bytes + self.kv_bytes + self.overhead_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_mib": round(self.total_bytes / MIB, 1),
            "file_mib": round(self.file_bytes / MIB, 1),
            "kv_cache_mib": round(self.kv_bytes / MIB, 1),
            "overhead_mib": round(self.overhead_bytes / MIB, 1),
            "note": self.note,
        }


def estimate_model_memory(path: Path, n_ctx: int, kv_bytes_per_value: int = 2) -> MemoryEstimate:
    """File size + f16 KV cache for ``n_ctx`` + compute-buffer margin.

    KV cache = 2 (K and V) x n_ctx x n_layer x n_head_kv x head_dim x bytes,
    with head_dim from ``attention.key_length`` (else n_embd / n_head).
    Sliding-window layers are counted as full ones: an upper bound. A file
    whose header cannot be read is estimated by its size alone (loading it
    will say what is wrong with it). Raises ``OSError`` for a missing file.
    """
    from gguf import Keys

    from .gguf_header import read_gguf_metadata

    size = path.stat().st_size
    overhead = max(32 * MIB, size // 10)
    try:
        meta = read_gguf_metadata(path)
        arch = str(meta[Keys.General.ARCHITECTURE])

        def number(key: str) -> int | None:
            value = meta.get(key.format(arch=arch))
            return int(value) if isinstance(value, (int, float)) else None

        n_layer = number(Keys.LLM.BLOCK_COUNT)
        n_embd = number(Keys.LLM.EMBEDDING_LENGTH)
        n_head = number(Keys.Attention.HEAD_COUNT)
        if n_layer is None or n_embd is None or not n_head:
            raise KeyError("block_count/embedding_length/head_count")
        n_head_kv = number(Keys.Attention.HEAD_COUNT_KV) or n_head
        key_len = number(Keys.Attention.KEY_LENGTH) or n_embd // n_head
        value_len = number(Keys.Attention.VALUE_LENGTH) or key_len
    except (ValueError, KeyError, OSError) as exc:
        return MemoryEstimate(size, 0, overhead, note=f"metadata unreadable: {exc}")
    kv = n_ctx * n_layer * n_head_kv * (key_len + value_len) * kv_bytes_per_value
    note = f"{arch}: {n_layer} layers, {n_head_kv} KV heads x {key_len}+{value_len}, n_ctx {n_ctx}"
    return MemoryEstimate(size, kv, overhead, note=note)
