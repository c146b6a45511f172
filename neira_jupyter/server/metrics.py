"""neira's Prometheus metrics, served by jupyter-server's own ``/metrics``.

jupyter-server exposes ``prometheus_client``'s default registry at
``{base_url}metrics`` (authenticated unless
``ServerApp.authenticate_prometheus`` is false). This module adds neira's
families to that registry, once per process, at import:

* counters and histograms fed by ``NeiraMetrics``, the engine's
  ``EngineObserver`` (``engine.observer``): every finished generation,
  transcription, correction and route switch is observed in that one place,
  whichever route asked for it; and by ``NeiraMetrics.request``, which the
  handlers' ``on_finish`` calls with the response status;
* gauges read at scrape time (``EngineCollector``) from every running
  engine in the process: queue depth, running jobs, model memory, route,
  free memory.

Per-user counters exist only when ``NeiraApp.metrics_per_user`` is on (a
JupyterHub service, where users are known and few; a label per user is
otherwise a cardinality risk). Every other label takes values from a fixed
set: route paths, status classes, model names, backend roles, reason codes.
docs/metrics.md lists every family.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..engine.observe import EngineObserver

if TYPE_CHECKING:
    from ..engine.correct import Correction
    from ..engine.routing import Switch
    from ..engine.service import NeiraEngine
    from ..engine.speech import Transcript
    from ..engine.types import GenerationResult

REQUESTS = Counter(
    "neira_requests",
    "Finished requests to neira's API by route and outcome (HTTP status class; an "
    "accepted WebSocket is 1xx)",
    ["route", "outcome"],
)
GENERATIONS = Counter(
    "neira_generations",
    "Finished generations by model, backend role and finish reason",
    ["model", "backend", "finish_reason"],
)
TOKENS = Counter("neira_generated_tokens", "Completion tokens generated, by model", ["model"])
PROMPT_TOKENS = Counter("neira_prompt_tokens", "Prompt tokens evaluated, by model", ["model"])
FIRST_TOKEN = Histogram(
    "neira_time_to_first_token_seconds",
    "Seconds from a worker starting a generation to its first token, by model",
    ["model"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.18, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
TOKEN_RATE = Histogram(
    "neira_tokens_per_second",
    "Decoding speed of one generation (tokens per second), by model",
    ["model"],
    buckets=(1, 2, 5, 10, 20, 35, 50, 75, 100, 150, 250, 500, 1000),
)
QUEUE_WAIT = Histogram(
    "neira_queue_wait_seconds",
    "Seconds a generation waited in the scheduler's queue, by model",
    ["model"],
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
REAL_TIME_FACTOR = Histogram(
    "neira_transcription_real_time_factor",
    "Transcription time divided by audio duration (below 1: faster than real time), by model",
    ["model"],
    buckets=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0),
)
AUDIO_SECONDS = Counter(
    "neira_transcribed_audio_seconds", "Seconds of audio transcribed, by model", ["model"]
)
CORRECTIONS = Counter(
    "neira_corrections",
    "Transcript corrections by outcome (changed, unchanged, degraded) and, when degraded, "
    "reason (engine.correct.DegradedReason; 'none' otherwise)",
    ["outcome", "reason"],
)
SWITCHES = Counter(
    "neira_route_switches",
    "Changes of the route new generations take (backend roles or 'degraded')",
    ["from", "to"],
)
USER_REQUESTS = Counter(
    "neira_user_requests",
    "Finished engine work per user and kind (only with NeiraApp.metrics_per_user)",
    ["user", "kind"],
)
USER_TOKENS = Counter(
    "neira_user_generated_tokens",
    "Completion tokens generated per user (only with NeiraApp.metrics_per_user)",
    ["user"],
)
USER_AUDIO = Counter(
    "neira_user_audio_seconds",
    "Seconds of audio transcribed per user (only with NeiraApp.metrics_per_user)",
    ["user"],
)


def status_class(status: int) -> str:
    """``"2xx"`` for 200..299 and so on."""
    return f"{status // 100}xx"


class NeiraMetrics(EngineObserver):
    """One server's recorder: observes its engine and counts its API requests.

    ``routes`` maps handler classes to their route path (the request label);
    a handler not in it is labelled with its class name.
    """

    def __init__(
        self, engine: NeiraEngine, routes: Mapping[type, str], per_user: bool = False
    ) -> None:
        self.engine = engine
        self.routes = dict(routes)
        self.per_user = per_user

    def request(self, handler: type, status: int) -> None:
        route = self.routes.get(handler, handler.__name__)
        REQUESTS.labels(route=route, outcome=status_class(status)).inc()

    def generation(self, user: str, result: GenerationResult) -> None:
        model, timings = result.model, result.timings
        GENERATIONS.labels(
            model=model, backend=result.route, finish_reason=result.finish_reason
        ).inc()
        TOKENS.labels(model=model).inc(result.usage.completion_tokens)
        PROMPT_TOKENS.labels(model=model).inc(result.usage.prompt_tokens)
        QUEUE_WAIT.labels(model=model).observe(timings.queue_ms / 1000)
        if timings.first_token_ms is not None:
            FIRST_TOKEN.labels(model=model).observe(timings.first_token_ms / 1000)
        if timings.tokens_per_second is not None:
            TOKEN_RATE.labels(model=model).observe(timings.tokens_per_second)
        if self.per_user:
            USER_REQUESTS.labels(user=user, kind="generation").inc()
            USER_TOKENS.labels(user=user).inc(result.usage.completion_tokens)

    def transcription(self, user: str, transcript: Transcript, audio_seconds: float) -> None:
        model = transcript.model or "speech"
        AUDIO_SECONDS.labels(model=model).inc(audio_seconds)
        spent_ms = transcript.timings.get("transcribe_ms")
        if spent_ms is not None and audio_seconds > 0:
            REAL_TIME_FACTOR.labels(model=model).observe(spent_ms / 1000 / audio_seconds)
        if self.per_user:
            USER_REQUESTS.labels(user=user, kind="transcription").inc()
            USER_AUDIO.labels(user=user).inc(audio_seconds)

    def correction(self, user: str, correction: Correction) -> None:
        if correction.degraded:
            outcome = "degraded"
        elif correction.corrected != correction.raw:
            outcome = "changed"
        else:
            outcome = "unchanged"
        reason = str(correction.reason_code) if correction.reason_code is not None else "none"
        CORRECTIONS.labels(outcome=outcome, reason=reason).inc()
        if self.per_user:
            USER_REQUESTS.labels(user=user, kind="correction").inc()

    def route_switch(self, switch: Switch) -> None:
        SWITCHES.labels(**{"from": switch.from_, "to": switch.to}).inc()


class EngineCollector(Collector):
    """Gauges read from the running engines at scrape time (summed across engines)."""

    def __init__(self) -> None:
        self.engines: weakref.WeakSet[NeiraEngine] = weakref.WeakSet()

    def collect(self) -> Iterator[Metric]:
        queued: dict[str, float] = defaultdict(float)
        running: dict[str, float] = defaultdict(float)
        memory: dict[tuple[str, str], float] = defaultdict(float)
        route: dict[str, float] = defaultdict(float)
        free: list[int] = []
        for engine in list(self.engines):
            status = engine.status()
            for lane, counts in status["queue"]["lanes"].items():
                queued[lane] += counts["queued"]
                running[lane] += counts["running"]
            for model in status["models"]:
                memory[(model["name"], model["role"])] += model.get("memory_bytes") or 0
            route[status["route"]["backend"]] += 1
            free_bytes = engine.generation.memory.free_bytes()
            if free_bytes is not None:
                free.append(free_bytes)
        yield _gauge("neira_queue_depth", "Requests waiting for a worker, by lane", "lane", queued)
        yield _gauge("neira_running_jobs", "Requests a worker is running, by lane", "lane", running)
        yield _gauge("neira_route", "1 for the backend new generations go to", "backend", route)
        loaded = GaugeMetricFamily(
            "neira_model_memory_bytes",
            "Size of each loaded model (0 when unloaded), by model and role",
            labels=["model", "role"],
        )
        for (name, role), size in memory.items():
            loaded.add_metric([name, role], size)
        yield loaded
        lowest = GaugeMetricFamily(
            "neira_memory_free_bytes", "Free memory as MemoryWatch last read it (GPU or host)"
        )
        if free:
            lowest.add_metric([], min(free))
        yield lowest

    def describe(self) -> Iterator[Metric]:
        return iter(())  # families depend on the engines present: collect() at scrape time


def _gauge(name: str, documentation: str, label: str, values: dict[str, float]) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in values.items():
        family.add_metric([key], value)
    return family


COLLECTOR = EngineCollector()
REGISTRY.register(COLLECTOR)
