"""``GET api/status``: models, route, memory pressure, queue, route switches.

The status bar and ``%neira status`` read ``memory.level`` (the pressure:
ok, high or critical) and ``memory.free_mib`` (the free memory of the
tightest device; ``readings`` has each device).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import WireModel
from .generate import RouteName

ModelState = Literal["unloaded", "loading", "ready", "failed"]
PressureLevel = Literal["ok", "high", "critical"]


class BatchInfo(WireModel):
    """A local LLM's batch (any ``llm_slots``): its sequence slots and KV cache, once loaded."""

    slots: int = Field(description="Sequences decoded together in one batch.")
    running: int | None = Field(None, description="Sequences in the batch now.")
    prefilling: int | None = Field(None, description="Of those, still reading their prompt.")
    waiting: int | None = Field(None, description="Requests waiting for a slot.")
    kv_used_tokens: int | None = None
    kv_capacity_tokens: int | None = None
    kv_use: float | None = Field(None, description="Share of the KV cache in use (0-1).")
    tokens_per_second_1m: float | None = Field(
        None, description="Tokens generated per second over the last minute."
    )
    prompt_tokens_reused: int | None = Field(
        None,
        description="Prompt tokens found in the KV cache since loading (not evaluated again).",
    )
    cached_prompts: int | None = Field(
        None, description="Prompts parked after their slot moved on (llm_prompt_cache_tokens)."
    )
    cached_prompt_tokens: int | None = Field(None, description="The cells those prompts hold.")


class ModelInfo(WireModel):
    """One configured model."""

    name: str
    kind: Literal["llm", "speech", "embedding"]
    role: Literal["primary", "fallback", "remote", "speech", "embedding"]
    file: str | None = Field(description="The model file or folder name (None for remote).")
    state: ModelState
    error: str | None = None
    device: str = Field(description="cpu, cuda or remote.")
    memory_bytes: int | None = Field(description="Size on disk while loaded, else 0.")
    n_ctx: int | None = Field(None, description="Context size (LLMs).")
    multilingual: bool | None = Field(None, description="Whisper: more than English.")
    url: str | None = Field(None, description="Remote: the API's base URL.")
    batch: BatchInfo | None = Field(None, description="Batched LLMs: slots, KV cache, rate.")


class RouteInfo(WireModel):
    """Which backend serves new requests now, and why."""

    backend: RouteName
    model: str | None
    reason: str
    since: float = Field(description="Unix time when this route began.")
    pressure: PressureLevel


class MemoryReading(WireModel):
    """Free and total memory of one device."""

    device: str = Field(description="host, cuda:0, ...")
    kind: Literal["host", "gpu"]
    name: str
    free_mib: float
    total_mib: float


class PressureThresholds(WireModel):
    """When the pressure level rises and falls (MiB, seconds)."""

    low_mib: float
    recover_mib: float
    recover_s: float
    critical_mib: float


class MemoryStatus(WireModel):
    """Memory pressure as the router sees it."""

    source: str = Field(description="Where readings come from: host, nvml, file:..., ...")
    level: PressureLevel = Field(description="The pressure level.")
    reason: str
    free_mib: float | None = Field(description="Free memory of the tightest device, MiB.")
    readings: list[MemoryReading]
    updated: float | None = Field(description="Unix time of the last good reading.")
    error: str | None
    interval_s: float
    thresholds: PressureThresholds


class Switch(WireModel):
    """One change of route."""

    time: float
    from_: str = Field(alias="from")
    to: str
    reason: str


class MemoryEstimate(WireModel):
    """What loading a GGUF model takes."""

    total_mib: float
    file_mib: float
    kv_cache_mib: float
    overhead_mib: float
    note: str


class BackendInfo(WireModel):
    """One route candidate as the router knows it."""

    model: str
    state: ModelState
    inflight: int
    failures: int
    last_failure: str | None
    pending: str | None = Field(description="load or unload while it is carried out.")
    estimate: MemoryEstimate | None


class LaneInfo(WireModel):
    """One worker lane of the scheduler."""

    queued: int
    running: int


class QueueStatus(WireModel):
    """The scheduler: waiting and running jobs."""

    depth: int = Field(description="Jobs waiting.")
    running: int
    capacity: int = Field(description="Jobs that may wait; more get 429.")
    per_user: int = Field(
        description="Jobs (queued plus running) one user may hold; more get 429. 0: no cap."
    )
    running_ids: list[str] = Field(description="Request ids of the caller's own running jobs.")
    lanes: dict[str, LaneInfo]


class LiveSpeechWaiting(WireModel):
    """Live-stream decodes waiting for the speech lane, by priority."""

    stop: int = Field(description="Finals of stopped streams (served first).")
    segment: int = Field(description="Segments closed at a pause while the user speaks.")
    partial: int = Field(description="Live partials (served last, coalesced to newer audio).")


class SpeechLaneStatus(WireModel):
    """How loaded the speech lane is with live streams (dictation, the recorder)."""

    waiting: LiveSpeechWaiting
    decoding: int = Field(description="Batches being decoded now.")
    workers: int = Field(description="Batches that may be decoded at once (speech_workers).")
    batch_size: int = Field(description="Windows decoded in one Whisper call at most.")
    load: float = Field(
        description="Fraction of the last 10 s the lane's workers spent decoding (0-1)."
    )
    partial_wait_ms: float = Field(
        description="Median wait of recent partials for the lane; grows with the load."
    )
    batches: int = Field(description="Batches decoded since start.")
    windows: int = Field(description="Windows decoded since start.")
    partials: int = Field(description="Partial windows decoded since start.")
    partials_dropped: int = Field(
        description="Partials dropped because their stream stopped (its final covered them)."
    )
    remote: int = Field(
        description="Live windows sent to speech_remote_url since start (finals that "
        "overflowed, speech_remote_overflow_queue)."
    )


class StatusDocument(WireModel):
    """The answer of ``GET api/status``."""

    version: str
    demo: bool = Field(description="Running on the demo models (nothing configured).")
    notes: list[str]
    llm_enabled: bool
    route: RouteInfo
    models: list[ModelInfo]
    memory: MemoryStatus
    switches: list[Switch]
    backends: dict[str, BackendInfo]
    queue: QueueStatus
    speech_lane: SpeechLaneStatus | None = Field(
        description="Live speech decodes; null without a speech model."
    )
    time: float
