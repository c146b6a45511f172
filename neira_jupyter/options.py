"""``NeiraApp``: every option of neira-jupyter, each with its one default, its help and bounds.

The class is the config section users write (``c.NeiraApp.x`` in
``jupyter_server_config.py``, ``--NeiraApp.x=...`` on the command line). It
is a plain ``Configurable``, apart from the jupyter-server extension
(``server.app.NeiraExtension``) and the JupyterHub service
(``hub.service.NeiraService``), which both read their options from it, and
``engine.config.build_engine_config`` turns the values into the engine's
settings. Each default is stated once: where the engine has its own (it runs
under any host, so its settings dataclasses carry defaults), the trait names
that one (``RouterConfig.max_local_attempts``); every other default is written
here. ``tests/server/test_config.py`` fails when a default is restated. The
engine never imports this module (an import-linter contract).
"""

from __future__ import annotations

import os
from typing import Any

from traitlets import Bool, Float, Int, TraitError, Unicode, default, validate
from traitlets.config import Configurable

from .engine.embedding import EmbeddingSpec
from .engine.llm.llama import LLMSpec
from .engine.routing.backend import RouterConfig
from .engine.routing.pressure import MEMORY_INTERVAL_S, PressureThresholds
from .engine.schedule import QUEUE_CAPACITY, RETRY_AFTER_S
from .engine.speech.whisper import SpeechSpec
from .engine.types import GenerationOptions
from .protocol import MAX_TOKENS_LIMIT

__all__ = ["NeiraApp"]


def _positive(value: Any, name: str) -> Any:
    if value <= 0:
        raise ValueError(f"NeiraApp.{name} must be positive, got {value}")
    return value


class NeiraApp(Configurable):
    """The options of neira-jupyter (models, limits, router, relay), with defaults and help."""

    # -- the original design's brain_config.toml ---------------------------------
    brain_config = Unicode(
        "brain_config.toml",
        config=True,
        help="The seed's brain_config.toml ([llm] and [fallback_rules]). A relative name is "
        "looked up in Jupyter's config directories (jupyter --paths), never in the notebook "
        "folder that users write; an absolute path is used as it is. A missing file is "
        "ignored.",
    )
    primary_model = Unicode(
        "",
        config=True,
        help="Name of the primary LLM ([llm] primary_model; empty: the file name).",
    )
    primary_path = Unicode(
        "",
        config=True,
        help="Path of the primary GGUF ([llm] primary_path; LLM_MODEL_PATH overrides). "
        "Empty: the demo model from the 'demo' extra.",
    )
    primary_context = Int(4096, config=True, help="Context size of the primary LLM.")
    demo_context = Int(
        2048, config=True, help="Context size of the demo LLM, used when no primary is set."
    )
    fallback_model = Unicode(
        "", config=True, help="Name of the smaller fallback LLM (empty: the file name)."
    )
    fallback_path = Unicode(
        "",
        config=True,
        help="Path of the fallback GGUF ([llm] fallback_path). Empty: the demo fallback model "
        "(SmolLM2-135M-Instruct) when the 'demo' extra is installed, else no fallback.",
    )
    fallback_context = Int(2048, config=True, help="Context size of the fallback model.")
    default_temperature = Float(
        GenerationOptions.temperature,
        config=True,
        help="Sampling temperature when a request sets none.",
    )
    default_max_tokens = Int(
        GenerationOptions.max_tokens, config=True, help="max_tokens when a request sets none."
    )
    default_top_p = Float(
        GenerationOptions.top_p, config=True, help="top_p when a request sets none."
    )
    cuda_enabled = Bool(
        True,
        config=True,
        help="Offload gpu_layers layers to the GPU (needs a CUDA build of llama-cpp-python).",
    )
    gpu_layers = Int(
        0, config=True, help="n_gpu_layers for llama.cpp (-1: all); only used when cuda_enabled."
    )
    max_local_attempts = Int(
        RouterConfig.max_local_attempts,
        config=True,
        help="[fallback_rules] failures in a row before switching models.",
    )
    local_timeout_ms = Int(
        RouterConfig.local_timeout_ms,
        config=True,
        help="[fallback_rules] first-token budget of a quick request, in ms (0: none).",
    )
    allow_external_api = Bool(
        RouterConfig.allow_external_api,
        config=True,
        help="[fallback_rules] allow a remote OpenAI-compatible backend (off: offline first).",
    )

    # -- models, speech, serving and limits ---------------------------------------
    llm_enabled = Bool(True, config=True, help="Load the LLM at all (LLM_ENABLED overrides).")
    chat_format = Unicode(
        "",
        config=True,
        help="llama-cpp-python chat_format of the primary (empty: the GGUF's own chat template).",
    )
    fallback_chat_format = Unicode(
        "", config=True, help="chat_format of the fallback model (empty: chat_format)."
    )
    n_threads = Int(0, config=True, help="CPU threads for llama.cpp (0: all cores).")
    llm_slots = Int(
        0,
        config=True,
        help="Generations a local LLM decodes at once, in one batch (1: one at a time; "
        "0: chosen for the hardware: 8 with a GPU, 4 on 2 or more CPU cores, else 1).",
    )
    llm_prompt_cache_tokens = Int(
        LLMSpec.prompt_cache_tokens,
        config=True,
        help="KV-cache cells (tokens) of each local LLM for prompts kept after their slot "
        "moved on, so that with more users than llm_slots each one's next completion or "
        "turn still reuses their cached prompt (0: off; costs this many tokens of KV cache, "
        "about 12 KiB each for the demo model, 128 KiB for Mistral 7B).",
    )
    speech_model_path = Unicode(
        "",
        config=True,
        help="Folder of a faster-whisper (CTranslate2) model. Empty: the demo Whisper base.",
    )
    speech_device = Unicode(
        SpeechSpec.device,
        config=True,
        help="Whisper device: auto (CUDA when present), cpu or cuda.",
    )
    speech_compute_type = Unicode(
        SpeechSpec.compute_type,
        config=True,
        help="CTranslate2 compute_type for Whisper (default: int8 on CPU, float16 on CUDA).",
    )
    speech_workers = Int(
        SpeechSpec.num_workers, config=True, help="Parallel Whisper transcriptions (num_workers)."
    )
    speech_batch = Int(
        SpeechSpec.batch,
        config=True,
        help="Live-stream windows Whisper decodes in one call (0: 8 on a GPU, 1 on CPU, "
        "where batching was measured to buy nothing).",
    )
    speech_local = Bool(
        True,
        config=True,
        help="Load a local Whisper model (speech_model_path, else the demo one). Off: "
        "transcriptions go only to speech_remote_url, and live streams are unavailable.",
    )
    embedding_enabled = Bool(
        True,
        config=True,
        help="Serve POST v1/embeddings from a local embedding model (embedding_model_path, "
        "else the demo all-MiniLM-L6-v2). Off: the route answers 404 for every model.",
    )
    embedding_model_path = Unicode(
        "",
        config=True,
        help="A GGUF embedding model with pooling (BERT-like; e.g. a GGUF of "
        "multilingual-e5-small or bge-m3). Empty: the demo all-MiniLM-L6-v2 (English).",
    )
    embedding_max_inputs = Int(
        EmbeddingSpec.max_inputs,
        config=True,
        help="Inputs one POST v1/embeddings may send (more: 400). Inputs waiting from "
        "several requests are embedded together, up to this many per llama.cpp call.",
    )
    speech_remote_url = Unicode(
        "",
        config=True,
        help="Base URL of an OpenAI-compatible transcription API (POST {url}/audio/"
        "transcriptions; e.g. another neira server's http://host:8888/neira/v1), used for "
        "transcriptions and live streams' windows when there is no usable local speech "
        "model, or for overflow (speech_remote_overflow_queue); only when "
        "allow_external_api is true.",
    )
    speech_remote_model = Unicode(
        "whisper-1", config=True, help="Model name to request from speech_remote_url."
    )
    speech_remote_api_key = Unicode(
        "",
        config=True,
        help="Bearer token for speech_remote_url (default: $NEIRA_SPEECH_REMOTE_API_KEY). "
        "neira never logs it; jupyter_server's --debug log prints the config it loads, so "
        "prefer the environment variable to a config file or the command line.",
    )
    speech_remote_timeout = Float(
        120.0, config=True, help="Seconds to wait for the remote transcription API."
    )
    speech_remote_concurrency = Int(
        4, config=True, help="Transcriptions in flight to speech_remote_url at once."
    )
    speech_remote_overflow_queue = Int(
        0,
        config=True,
        help="When this many transcriptions (or live streams' finals) wait for the local "
        "speech model, the next one goes to speech_remote_url; live partials never do. Needs "
        "allow_external_api. 0: the remote is used only when no local speech model can serve.",
    )
    eager_load = Bool(
        RouterConfig.preload,
        config=True,
        help="Load models in the background at start (else on first use).",
    )
    queue_size = Int(
        QUEUE_CAPACITY,
        config=True,
        help="Requests that may wait for a model; more get 429 + Retry-After.",
    )
    max_jobs_per_user = Int(
        8,
        config=True,
        help="Requests (queued plus running) one user may hold at once; more get 429 + "
        "Retry-After, so one user's burst leaves room for the others. 0: no cap.",
    )
    retry_after = Int(RETRY_AFTER_S, config=True, help="Retry-After seconds sent with a 429.")
    socket_ping_interval = Float(
        30.0,
        config=True,
        help="Seconds between WebSocket pings; a client that does not answer within as "
        "long again is disconnected. 0: no pings.",
    )
    socket_idle_timeout = Float(
        600.0,
        config=True,
        help="A WebSocket with no message and no running work for this many seconds is "
        "closed. 0: never.",
    )
    max_sockets_per_user = Int(
        8, config=True, help="WebSockets one user may hold open at once; more get 429. 0: no cap."
    )
    correction_timeout = Float(
        30.0, config=True, help="Seconds the LLM may take to correct a transcript."
    )
    live_correction = Bool(
        True,
        config=True,
        help="Correct a live dictation's segments while the user speaks (off: all at stop; "
        "on 2 CPU cores with many people dictating at once, off keeps Whisper up with them).",
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
    max_tokens_limit = Int(
        MAX_TOKENS_LIMIT,
        config=True,
        help="The most tokens one request may ask for (max_tokens); more is a 400. Lower it "
        "on a shared server so no single answer holds a model for long.",
    )
    max_prompt_chars = Int(
        100_000, config=True, help="Longest prompt or text accepted, in characters."
    )
    responses_per_user = Int(
        32,
        config=True,
        help="Responses of v1/responses (store) kept in memory per user for "
        "previous_response_id and GET v1/responses/{id}; the oldest goes first. 0: none kept.",
    )
    responses_ttl = Float(
        3600.0, config=True, help="Seconds a stored response of v1/responses is kept."
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
    memory_interval = Float(MEMORY_INTERVAL_S, config=True, help="Seconds between memory readings.")
    memory_low_mib = Float(
        PressureThresholds.low_mib,
        config=True,
        help="Switch new requests to the fallback model when free memory drops below this (MiB).",
    )
    memory_recover_mib = Float(
        PressureThresholds.recover_mib,
        config=True,
        help="Switch back to the primary only after at least this much memory (MiB) stayed "
        "free for memory_recover_seconds.",
    )
    memory_recover_seconds = Float(
        PressureThresholds.recover_s,
        config=True,
        help="How long memory_recover_mib must stay free before switching back.",
    )
    memory_critical_mib = Float(
        PressureThresholds.critical_mib,
        config=True,
        help="Below this much free memory (MiB) no local model is used, and all are unloaded "
        "(remote or degraded). 0: no critical level.",
    )
    unload_on_pressure = Bool(
        RouterConfig.unload_on_pressure,
        config=True,
        help="Unload the primary under memory pressure (once idle) to give the memory back.",
    )
    failure_cooldown = Float(
        RouterConfig.failure_cooldown_s,
        config=True,
        help="Seconds a model that failed max_local_attempts times in a row is skipped.",
    )
    quick_max_tokens = Int(
        RouterConfig.quick_max_tokens,
        config=True,
        help="Requests with max_tokens up to this are 'quick': their first token must come "
        "within local_timeout_ms (beyond reading the prompt, when the request had the model "
        "to itself), or it counts as a local failure.",
    )
    remote_url = Unicode(
        "",
        config=True,
        help="Base URL of an OpenAI-compatible API (e.g. http://host:8000/v1), used after the "
        "local models only when allow_external_api is true.",
    )
    remote_model = Unicode("", config=True, help="Model name to request from remote_url.")
    remote_api_key = Unicode(
        "",
        config=True,
        help="Bearer token for remote_url (default: $NEIRA_REMOTE_API_KEY). neira never logs "
        "it; jupyter_server's --debug log prints the config it loads, so prefer the "
        "environment variable to a config file or the command line.",
    )
    remote_timeout = Float(60.0, config=True, help="Seconds to wait for the remote API.")
    remote_concurrency = Int(
        8, config=True, help="Requests in flight to remote_url at once (more wait in its queue)."
    )
    remote_overflow_queue = Int(
        RouterConfig.overflow_queue,
        config=True,
        help="Use remote_url for capacity: when this many requests wait for the local model, "
        "the next one goes to the remote API (a vLLM, SGLang, llama-server or Ollama that "
        "batches). Needs allow_external_api. 0: the remote is only a fallback.",
    )

    # -- JupyterHub: relay to a shared neira service (docs/hub.md) ----------------------
    service_url = Unicode(
        config=True,
        help="URL of a shared neira service (e.g. http://hub:8000/services/neira/; default: "
        "NEIRA_SERVICE_URL). Set: this server loads no model and relays neira/api/* there.",
    )
    service_token = Unicode(
        config=True,
        help="Token the relay presents to the service (default: JUPYTERHUB_API_TOKEN, the "
        "user's own Hub token, so the service sees the Hub user). Never logged.",
    )

    @default("service_url")
    def _default_service_url(self) -> str:
        return os.environ.get("NEIRA_SERVICE_URL", "")

    @default("remote_api_key")
    def _default_remote_api_key(self) -> str:
        return os.environ.get("NEIRA_REMOTE_API_KEY", "")

    @default("speech_remote_api_key")
    def _default_speech_remote_api_key(self) -> str:
        return os.environ.get("NEIRA_SPEECH_REMOTE_API_KEY", "")

    @default("service_token")
    def _default_service_token(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    metrics_per_user = Bool(
        False,
        config=True,
        help="Add per-user usage counters (a 'user' label) to the Prometheus metrics at "
        "/metrics. For a JupyterHub service with a known set of users; off by default, as "
        "every user adds time series.",
    )

    @validate(
        "max_tokens_limit",
        "queue_size",
        "speech_workers",
        "max_body_bytes",
        "max_audio_bytes",
        "memory_interval",
        "remote_timeout",
        "remote_concurrency",
        "speech_remote_timeout",
        "speech_remote_concurrency",
        "max_audio_seconds",
        "correction_timeout",
        "embedding_max_inputs",
    )
    def _validate_positive(self, proposal: Any) -> Any:
        return _positive(proposal["value"], proposal["trait"].name)

    @validate(
        "max_jobs_per_user",
        "max_sockets_per_user",
        "responses_per_user",
        "responses_ttl",
        "socket_ping_interval",
        "socket_idle_timeout",
        "llm_slots",
        "llm_prompt_cache_tokens",
        "remote_overflow_queue",
        "speech_remote_overflow_queue",
        "speech_batch",
    )
    def _validate_not_negative(self, proposal: Any) -> Any:
        if proposal["value"] < 0:
            raise TraitError(f"{proposal['trait'].name} must be 0 or more, got {proposal['value']}")
        return proposal["value"]

    @classmethod
    def option_defaults(cls) -> dict[str, Any]:
        """Every option and its default value."""
        own = NeiraApp.class_own_traits(config=True)
        return {name: trait.default() for name, trait in own.items()}

    def option_values(self) -> dict[str, Any]:
        """Every option of ``NeiraApp`` (not a subclass's own) and its current value."""
        return {name: getattr(self, name) for name in NeiraApp.class_own_traits(config=True)}

    def explicit_options(self) -> set[str]:
        """Options set through config: every section traitlets reads for this object, that
        of its class and of each class it derives from (``c.NeiraApp.x`` counts for the
        Hub's ``NeiraServiceApp`` too), also nested under its parent's."""
        return set(self._find_my_config(self.config))  # what traitlets applies to self
