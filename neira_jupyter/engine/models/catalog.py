"""The known user models: GGUF files on the Hugging Face hub, with their sizes and memory needs.

``size_bytes`` is the file's size on the hub (shown before a download);
``memory_gib`` is what the loaded model needs in RAM or VRAM at its ``n_ctx``
(weights plus the KV cache in f16, plus llama.cpp's compute buffers), rounded up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogEntry:
    """A known GGUF model: where to download it, how big it is and how to talk to it."""

    name: str
    repo_id: str
    filename: str
    n_ctx: int
    size_bytes: int
    memory_gib: float
    description: str
    revision: str = "main"
    chat_format: str | None = None


CATALOG: dict[str, CatalogEntry] = {
    entry.name: entry
    for entry in (
        CatalogEntry(
            "mistral-7b-instruct-v0.3",
            "bartowski/Mistral-7B-Instruct-v0.3-GGUF",
            "Mistral-7B-Instruct-v0.3-Q4_K_M.gguf",
            n_ctx=4096,
            size_bytes=4_372_812_000,
            memory_gib=5.5,
            description="the original design's primary: Mistral 7B Instruct v0.3, Q4_K_M",
        ),
        CatalogEntry(
            "phi-3-mini-4k",
            "microsoft/Phi-3-mini-4k-instruct-gguf",
            "Phi-3-mini-4k-instruct-q4.gguf",
            n_ctx=4096,
            size_bytes=2_393_231_072,
            memory_gib=4.0,
            description="the original design's fallback: Phi-3 mini 4k instruct, Q4",
        ),
        CatalogEntry(
            "qwen2.5-7b-instruct",
            "bartowski/Qwen2.5-7B-Instruct-GGUF",
            "Qwen2.5-7B-Instruct-Q4_K_M.gguf",
            n_ctx=4096,
            size_bytes=4_683_073_504,
            memory_gib=5.5,
            description="Qwen2.5 7B Instruct, Q4_K_M: strongest Russian of the three",
        ),
    )
}


def lookup(name: str) -> CatalogEntry:
    """The catalog entry called ``name``; ``KeyError`` naming the known ones otherwise."""
    if name not in CATALOG:
        known = ", ".join(sorted(CATALOG))
        raise KeyError(f"unknown model {name!r}; known models: {known}")
    return CATALOG[name]
