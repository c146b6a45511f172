"""The known user models: GGUF files on the Hugging Face hub, with their sizes and memory needs.

``size_bytes`` is the file's size on the hub (shown before a download);
``memory_gib`` is what the loaded model needs in RAM or VRAM at its ``n_ctx``
(weights plus the KV cache in f16, plus llama.cpp's compute buffers), rounded up.
``role`` says which option takes the downloaded file: ``llm`` (``primary_path``,
``fallback_path``) or ``embedding`` (``embedding_model_path``). An entry
pinned to a commit (``revision``) also pins the file's ``sha256``: the download
must match it, whatever the hub announces.
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
    role: str = "llm"
    sha256: str | None = None


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
        CatalogEntry(
            "bge-m3",
            "ggml-org/bge-m3-Q8_0-GGUF",
            "bge-m3-q8_0.gguf",
            n_ctx=8192,
            size_bytes=634_553_760,
            memory_gib=1.0,
            description="embeddings for v1/embeddings: BGE-M3 (BAAI), Q8_0, 1024 dimensions, "
            "100+ languages, Russian and English included",
            revision="9eba04c5d75ba5a1595e45de734d36bef4e5cb98",
            role="embedding",
            sha256="aa473d51f451a22f0fcf39ba3330c14bed38a385712b1113440f69df4047a173",
        ),
    )
}


def lookup(name: str) -> CatalogEntry:
    """The catalog entry called ``name``; ``KeyError`` naming the known ones otherwise."""
    if name not in CATALOG:
        known = ", ".join(sorted(CATALOG))
        raise KeyError(f"unknown model {name!r}; known models: {known}")
    return CATALOG[name]
