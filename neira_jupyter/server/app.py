"""``NeiraApp``: the jupyter-server extension that keeps the models resident.

Every option is a trait on ``NeiraApp`` (``--NeiraApp.x=...``, or
``c.NeiraApp.x`` in ``jupyter_server_config.py``), documented by
``jupyter server --help-all``. Options that the original design keeps in
``brain_config.toml`` default to ``None``, meaning "take it from the TOML
file, else the built-in default"; ``LLM_ENABLED`` and ``LLM_MODEL_PATH``
override both (see ``engine.config``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Int, Unicode, validate

from ..engine.config import (
    ConfigError,
    build_engine_config,
    environment,
    merge_options,
    read_brain_config,
)
from ..engine.service import NeiraEngine
from .handlers import ENGINE_KEY, ISOLATE_KEY, LIMITS_KEY, RequestLimits, handlers


def _positive(value: Any, name: str) -> Any:
    if value is not None and value <= 0:
        raise ValueError(f"NeiraApp.{name} must be positive, got {value}")
    return value


class NeiraApp(ExtensionApp):
    """Local LLM and speech recognition for Jupyter, resident in the server process."""

    name = "neira_jupyter"
    extension_url = "/neira/api/status"
    load_other_extensions = True

    # -- the original design's brain_config.toml ---------------------------------
    brain_config = Unicode(
        "brain_config.toml",
        config=True,
        help="Path of the seed's brain_config.toml ([llm] and [fallback_rules]); relative "
        "paths are resolved against the server's root_dir. A missing file is ignored.",
    )
    primary_model = Unicode(
        None, allow_none=True, config=True, help="Name of the primary LLM ([llm] primary_model)."
    )
    primary_path = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Path of the primary GGUF ([llm] primary_path; LLM_MODEL_PATH overrides). "
        "Unset: the demo model from the 'demo' extra.",
    )
    primary_context = Int(
        None, allow_none=True, config=True, help="Context size of the primary LLM."
    )
    fallback_model = Unicode(
        None, allow_none=True, config=True, help="Name of the smaller fallback LLM."
    )
    fallback_path = Unicode(
        None, allow_none=True, config=True, help="Path of the fallback GGUF ([llm] fallback_path)."
    )
    fallback_context = Int(
        None, allow_none=True, config=True, help="Context size of the fallback model."
    )
    default_temperature = Float(
        None, allow_none=True, config=True, help="Sampling temperature when a request sets none."
    )
    default_max_tokens = Int(
        None, allow_none=True, config=True, help="max_tokens when a request sets none (256)."
    )
    default_top_p = Float(
        None, allow_none=True, config=True, help="top_p when a request sets none (0.95)."
    )
    cuda_enabled = Bool(
        None,
        allow_none=True,
        config=True,
        help="Offload layers to the GPU (needs a CUDA build of llama-cpp-python).",
    )
    gpu_layers = Int(
        None,
        allow_none=True,
        config=True,
        help="n_gpu_layers for llama.cpp (-1: all); only used when cuda_enabled.",
    )
    max_local_attempts = Int(
        None, allow_none=True, config=True, help="[fallback_rules] failures before switching."
    )
    local_timeout_ms = Int(
        None,
        allow_none=True,
        config=True,
        help="[fallback_rules] first-token budget of a quick request, in ms.",
    )
    allow_external_api = Bool(
        None,
        allow_none=True,
        config=True,
        help="[fallback_rules] allow a remote OpenAI-compatible backend (off: offline first).",
    )

    # -- options of this extension -------------------------------------------------
    llm_enabled = Bool(
        None, allow_none=True, config=True, help="Load the LLM at all (LLM_ENABLED overrides)."
    )
    chat_format = Unicode(
        None,
        allow_none=True,
        config=True,
        help="llama-cpp-python chat_format of the primary (unset: the GGUF's own chat template).",
    )
    fallback_chat_format = Unicode(
        None, allow_none=True, config=True, help="chat_format of the fallback model."
    )
    n_threads = Int(
        None, allow_none=True, config=True, help="CPU threads for llama.cpp (unset: all cores)."
    )
    llm_slots = Int(
        None,
        allow_none=True,
        config=True,
        help="Generations a local LLM decodes at once, in one batch (1: one at a time; "
        "unset: chosen for the hardware, see engine.config.default_llm_slots).",
    )
    speech_model_path = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Folder of a faster-whisper (CTranslate2) model. Unset: the demo Whisper tiny.en.",
    )
    speech_device = Unicode(
        "auto", config=True, help="Whisper device: auto (CUDA when present), cpu or cuda."
    )
    speech_compute_type = Unicode(
        "default",
        config=True,
        help="CTranslate2 compute_type for Whisper (default: int8 on CPU, float16 on CUDA).",
    )
    speech_workers = Int(1, config=True, help="Parallel Whisper transcriptions (num_workers).")
    eager_load = Bool(
        True, config=True, help="Load models in the background at start (else on first use)."
    )
    queue_size = Int(
        16, config=True, help="Requests that may wait for a model; more get 429 + Retry-After."
    )
    retry_after = Int(2, config=True, help="Retry-After seconds sent with a 429.")
    correction_timeout = Float(
        30.0, config=True, help="Seconds the LLM may take to correct a transcript."
    )
    max_body_bytes = Int(
        1024 * 1024, config=True, help="Largest JSON request body, in bytes (else 413)."
    )
    max_audio_bytes = Int(
        50 * 1024 * 1024, config=True, help="Largest audio upload, in bytes (else 413)."
    )
    max_audio_seconds = Float(600.0, config=True, help="Longest audio accepted, in seconds.")
    isolate_users = Bool(
        False,
        config=True,
        help="Keep users apart for fairness and cancellation (JupyterHub, collaboration). "
        "Off: every authenticated request belongs to the server's owner, as token-"
        "authenticated requests get a fresh anonymous identity each time.",
    )
    max_prompt_chars = Int(
        100_000, config=True, help="Longest prompt or text accepted, in characters."
    )

    # -- memory pressure, fallback, remote (the router) ---------------------------------
    memory_source = Unicode(
        "auto",
        config=True,
        help="Where free memory is read: 'auto' (NVML when layers are offloaded to a GPU, "
        "else host RAM via psutil), 'nvml', 'host', 'file:/path.json' (a JSON file "
        'such as {"free_mib": 900, "total_mib": 8192} that an agent or test rewrites), '
        "or 'module:attribute' naming a MemorySource object.",
    )
    memory_interval = Float(1.0, config=True, help="Seconds between memory readings.")
    memory_low_mib = Float(
        1024.0,
        config=True,
        help="Switch new requests to the fallback model when free memory drops below this (MiB).",
    )
    memory_recover_mib = Float(
        2048.0,
        config=True,
        help="Switch back to the primary only after at least this much memory (MiB) stayed "
        "free for memory_recover_seconds.",
    )
    memory_recover_seconds = Float(
        30.0, config=True, help="How long memory_recover_mib must stay free before switching back."
    )
    memory_critical_mib = Float(
        0.0,
        config=True,
        help="Below this much free memory (MiB) no local model is used, and all are unloaded "
        "(remote or degraded). 0: no critical level.",
    )
    unload_on_pressure = Bool(
        True,
        config=True,
        help="Unload the primary under memory pressure (once idle) to give the memory back.",
    )
    failure_cooldown = Float(
        60.0,
        config=True,
        help="Seconds a model that failed max_local_attempts times in a row is skipped.",
    )
    quick_max_tokens = Int(
        64,
        config=True,
        help="Requests with max_tokens up to this are 'quick': their first token must come "
        "within local_timeout_ms, or it counts as a local failure.",
    )
    remote_url = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Base URL of an OpenAI-compatible API (e.g. http://host:8000/v1), used after the "
        "local models only when allow_external_api is true.",
    )
    remote_model = Unicode(
        None, allow_none=True, config=True, help="Model name to request from remote_url."
    )
    remote_api_key = Unicode(
        None, allow_none=True, config=True, help="Bearer token for remote_url (never logged)."
    )
    remote_timeout = Float(60.0, config=True, help="Seconds to wait for the remote API.")

    @validate("queue_size", "speech_workers", "max_body_bytes", "max_audio_bytes")
    def _validate_positive_int(self, proposal: Any) -> Any:
        return _positive(proposal["value"], proposal["trait"].name)

    @validate("memory_interval", "remote_timeout")
    def _validate_positive_interval(self, proposal: Any) -> Any:
        return _positive(proposal["value"], proposal["trait"].name)

    @validate("max_audio_seconds", "correction_timeout")
    def _validate_positive_float(self, proposal: Any) -> Any:
        return _positive(proposal["value"], proposal["trait"].name)

    engine: NeiraEngine | None = None

    def _option_values(self) -> dict[str, Any]:
        names = [
            name
            for name, trait in self.traits(config=True).items()
            if trait.this_class is NeiraApp
        ]
        return {name: getattr(self, name) for name in names}

    def brain_config_path(self) -> Path:
        path = Path(self.brain_config).expanduser()
        if not path.is_absolute():
            path = Path(self.serverapp.root_dir if self.serverapp else ".") / path
        return path

    def initialize_settings(self) -> None:
        try:
            brain = read_brain_config(self.brain_config_path())
            options = merge_options(brain, self._option_values(), environment())
            config = build_engine_config(options)
        except ConfigError as exc:
            self.log.error("neira: %s", exc)
            raise
        self.engine = NeiraEngine(config)
        for note in config.demo_notes:
            self.log.info("neira: %s", note)
        self.settings.update(
            {
                ENGINE_KEY: self.engine,
                ISOLATE_KEY: self.isolate_users,
                LIMITS_KEY: RequestLimits(
                    max_body_bytes=self.max_body_bytes,
                    max_audio_bytes=self.max_audio_bytes,
                    max_audio_seconds=self.max_audio_seconds,
                    max_prompt_chars=self.max_prompt_chars,
                ),
            }
        )

    def initialize_handlers(self) -> None:
        self.handlers.extend(handlers())

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        if self.engine is not None:
            self.engine.start()

    async def stop_extension(self) -> None:
        if self.engine is not None:
            await self.engine.stop()


# ``jupyter neira``: a Jupyter server with the extension; ``--help-all`` lists every option.
main = launch_new_instance = NeiraApp.launch_instance

if __name__ == "__main__":
    main()
