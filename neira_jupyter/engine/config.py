"""Engine configuration: the resolved settings, the seed's ``brain_config.toml``, env overrides.

Precedence, lowest first: built-in defaults, ``brain_config.toml``, options
set explicitly through Jupyter config (traits), then the environment
variables ``LLM_ENABLED`` and ``LLM_MODEL_PATH``, which the original design
lets override everything. When no primary model is named anywhere, the demo
models (the ``demo`` extra) are used and ``EngineConfig.demo`` says so.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .llm import LLMSpec, RemoteSpec, llama_supports_gpu
from .routing import PressureThresholds
from .speech import SpeechSpec
from .types import GenerationOptions

# brain_config.toml: [section] key -> the EngineConfig/trait name it feeds.
BRAIN_KEYS: dict[str, dict[str, str]] = {
    "llm": {
        "primary_model": "primary_model",
        "primary_path": "primary_path",
        "primary_context": "primary_context",
        "fallback_model": "fallback_model",
        "fallback_path": "fallback_path",
        "fallback_context": "fallback_context",
        "default_temperature": "default_temperature",
        "default_max_tokens": "default_max_tokens",
        "default_top_p": "default_top_p",
        "cuda_enabled": "cuda_enabled",
        "gpu_layers": "gpu_layers",
    },
    "fallback_rules": {
        "max_local_attempts": "max_local_attempts",
        "local_timeout_ms": "local_timeout_ms",
        "allow_external_api": "allow_external_api",
    },
}


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
            flat[keys[key]] = value
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
    """Everything the engine needs, already resolved and validated."""

    llm_enabled: bool = True
    primary: LLMSpec | None = None
    fallback: LLMSpec | None = None
    speech: SpeechSpec | None = None
    defaults: GenerationOptions = field(default_factory=GenerationOptions)
    queue_capacity: int = 16
    retry_after: int = 2
    correction_timeout_s: float = 30.0
    max_local_attempts: int = 2
    local_timeout_ms: int = 180
    allow_external_api: bool = False
    eager: bool = True
    # memory pressure and the router (issue 5)
    memory_source: str = "auto"
    memory_interval_s: float = 1.0
    memory_thresholds: PressureThresholds = field(default_factory=PressureThresholds)
    unload_on_pressure: bool = True
    failure_cooldown_s: float = 60.0
    quick_max_tokens: int = 64
    remote: RemoteSpec | None = None
    demo: bool = False
    demo_notes: list[str] = field(default_factory=list)


def default_llm_slots(gpu_layers: int, cpu_count: int | None = None) -> int:
    """Sequence slots of a local LLM when ``llm_slots`` is unset.

    With layers on a GPU: 8 (batched decoding pays most there). On a CPU
    with more than 2 cores: 4. On 2 cores or fewer: 1, the single-sequence
    path (see ``benchmarks/bench_batch.py`` for what batching gives there).
    """
    if gpu_layers != 0 and llama_supports_gpu():
        return 8
    cores = cpu_count if cpu_count is not None else os.cpu_count() or 1
    return 4 if cores > 2 else 1


def merge_options(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers win; ``None`` values do not override."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if v is not None})
    return merged


def build_engine_config(options: Mapping[str, Any]) -> EngineConfig:
    """Turn flat, merged option values into an ``EngineConfig``.

    Recognised names are the trait names of ``NeiraApp`` (and the brain keys,
    which share them). Missing models fall back to the demo models.
    """
    from . import models

    gpu_layers = int(options.get("gpu_layers", 0)) if options.get("cuda_enabled", True) else 0
    chat_format = options.get("chat_format") or None
    n_threads = options.get("n_threads") or None
    slots = options.get("llm_slots")
    slots = default_llm_slots(gpu_layers) if slots is None else int(slots)
    if slots < 1:
        raise ConfigError(f"llm_slots={slots}: use 1 or more")
    notes: list[str] = []
    demo = False

    def llm_spec(name: str, path: Path, n_ctx: int, fmt: str | None) -> LLMSpec:
        return LLMSpec(
            name=name,
            path=path,
            n_ctx=n_ctx,
            n_gpu_layers=gpu_layers,
            chat_format=fmt,
            n_threads=n_threads,
            slots=slots,
        )

    primary_path = options.get("primary_path")
    primary_name = options.get("primary_model") or None
    if primary_path:
        path = Path(str(primary_path)).expanduser()
        primary: LLMSpec | None = llm_spec(
            primary_name or path.stem, path, int(options.get("primary_context", 4096)), chat_format
        )
    else:
        demo_path = models.demo_llm_path()
        if demo_path is None:
            primary = None
            notes.append(
                "no primary model configured and the demo models are not installed "
                "(pip install 'neira-jupyter[demo]')"
            )
        else:
            demo = True
            primary = llm_spec(
                models.DEMO_LLM_NAME,
                demo_path,
                int(options.get("primary_context", 2048)),
                chat_format or "gemma",
            )
            notes.append("running on the demo LLM (Gemma 3 270M, not instruction-tuned)")

    fallback: LLMSpec | None = None
    fallback_path = options.get("fallback_path")
    if fallback_path:
        path = Path(str(fallback_path)).expanduser()
        fallback = llm_spec(
            options.get("fallback_model") or path.stem,
            path,
            int(options.get("fallback_context", 2048)),
            options.get("fallback_chat_format") or chat_format,
        )

    speech_path = options.get("speech_model_path")
    speech: SpeechSpec | None
    speech_common = {
        "device": options.get("speech_device", "auto"),
        "compute_type": options.get("speech_compute_type", "default"),
        "num_workers": int(options.get("speech_workers", 1)),
    }
    if speech_path:
        path = Path(str(speech_path)).expanduser()
        speech = SpeechSpec(name=path.name, path=path, **speech_common)
    else:
        demo_speech = models.demo_speech_path()
        if demo_speech is None:
            speech = None
            notes.append("no speech model configured and the demo models are not installed")
        else:
            demo = True
            speech = SpeechSpec(name=models.DEMO_SPEECH_NAME, path=demo_speech, **speech_common)
            notes.append("running on the demo speech model (Whisper tiny.en, English only)")

    if primary is not None and fallback is not None and primary.name == fallback.name:
        raise ConfigError(f"primary and fallback models are both named {primary.name!r}")

    try:
        thresholds = PressureThresholds(
            low_mib=float(options.get("memory_low_mib", 1024)),
            recover_mib=float(options.get("memory_recover_mib", 2048)),
            recover_s=float(options.get("memory_recover_seconds", 30.0)),
            critical_mib=float(options.get("memory_critical_mib", 0)),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    remote: RemoteSpec | None = None
    if options.get("remote_url"):
        if not options.get("remote_model"):
            raise ConfigError("remote_url is set but remote_model is not")
        remote = RemoteSpec(
            base_url=str(options["remote_url"]),
            model=str(options["remote_model"]),
            api_key=str(options.get("remote_api_key") or ""),
            timeout_s=float(options.get("remote_timeout", 60.0)),
        )

    return EngineConfig(
        llm_enabled=bool(options.get("llm_enabled", True)),
        primary=primary,
        fallback=fallback,
        speech=speech,
        defaults=GenerationOptions(
            max_tokens=int(options.get("default_max_tokens", 256)),
            temperature=float(options.get("default_temperature", 0.7)),
            top_p=float(options.get("default_top_p", 0.95)),
        ),
        queue_capacity=int(options.get("queue_size", 16)),
        retry_after=int(options.get("retry_after", 2)),
        correction_timeout_s=float(options.get("correction_timeout", 30.0)),
        max_local_attempts=int(options.get("max_local_attempts", 2)),
        local_timeout_ms=int(options.get("local_timeout_ms", 180)),
        allow_external_api=bool(options.get("allow_external_api", False)),
        eager=bool(options.get("eager_load", True)),
        memory_source=str(options.get("memory_source", "auto")),
        memory_interval_s=float(options.get("memory_interval", 1.0)),
        memory_thresholds=thresholds,
        unload_on_pressure=bool(options.get("unload_on_pressure", True)),
        failure_cooldown_s=float(options.get("failure_cooldown", 60.0)),
        quick_max_tokens=int(options.get("quick_max_tokens", 64)),
        remote=remote,
        demo=demo,
        demo_notes=notes,
    )


def environment() -> dict[str, Any]:
    """The environment overrides of the running process."""
    return env_overrides(os.environ)
