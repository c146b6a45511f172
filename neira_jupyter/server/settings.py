"""From ``NeiraApp`` options to what the neira handlers read in their tornado settings.

The extension (``server.app``) and the JupyterHub service (``hub.service``)
both go through here, so the two cannot drift apart:

- ``apply_overrides`` layers the options, lowest first: the trait defaults,
  ``brain_config.toml`` (only for options not set explicitly through config),
  explicit config (``c.NeiraApp.x``, ``--NeiraApp.x``), then the environment
  (``LLM_ENABLED``, ``LLM_MODEL_PATH``); the traits check every value.
- ``start_handler_state`` builds the engine (or the relay, when
  ``service_url`` is set) and its metrics: a ``HandlerState``, whose
  ``settings()`` are the keys every neira handler reads (``server.base``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_config_path
from traitlets import TraitError

from ..engine.config import (
    BRAIN_KEYS,
    ConfigError,
    EngineConfig,
    build_engine_config,
    environment,
    read_brain_config,
)
from ..engine.service import NeiraEngine
from ..options import NeiraApp
from ..serving.chat_context import SnapshotStore
from ..serving.complete import Superseding
from ..serving.response_store import ResponseStore
from .base import ENGINE_KEY, ISOLATE_KEY, LIMITS_KEY, METRICS_KEY, RequestLimits
from .chat_context import SNAPSHOTS_KEY
from .complete import SUPERSEDING_KEY
from .metrics import COLLECTOR, NeiraMetrics
from .openai_responses import RESPONSES_KEY
from .relay import RELAY_KEY, Relay
from .routes import HANDLERS

__all__ = [
    "HandlerState",
    "apply_overrides",
    "brain_config_path",
    "request_limits",
    "resolve_options",
    "start_handler_state",
]

_BRAIN_KEY_OF = {key: f"[{section}].{key}" for section, keys in BRAIN_KEYS.items()
                 for key in keys}  # fmt: skip


def brain_config_path(options: NeiraApp) -> Path:
    """The brain_config.toml to read: absolute as configured, else the first one found in
    Jupyter's config directories (the administrator's, not the notebook root)."""
    path = Path(options.brain_config).expanduser()
    if path.is_absolute():
        return path
    candidates = [Path(folder) / path for folder in jupyter_config_path()]
    return next((c for c in candidates if c.is_file()), candidates[0])


def apply_overrides(
    options: NeiraApp, brain: dict[str, Any], env: dict[str, Any], where: str
) -> None:
    """Set options from ``brain_config.toml`` (unless configured explicitly), then the
    environment; the traits check each value, and a bad one is a ``ConfigError``."""
    explicit = options.explicit_options()
    layers = [(name, value, f"{where}: {_BRAIN_KEY_OF.get(name, name)}")
              for name, value in brain.items() if name not in explicit]  # fmt: skip
    layers += [(name, value, f"environment ({name})") for name, value in env.items()]
    for name, value, source in layers:
        try:
            setattr(options, name, value)
        except TraitError as exc:
            raise ConfigError(f"{source}: {exc}") from None


def resolve_options(options: NeiraApp) -> None:
    """Layer ``brain_config.toml`` and the environment over ``options``, as the server does
    at start (``apply_overrides``); a bad value is a ``ConfigError``."""
    path = brain_config_path(options)
    apply_overrides(options, read_brain_config(path), environment(), str(path))


def request_limits(options: NeiraApp) -> RequestLimits:
    """The size and socket limits the handlers enforce."""
    return RequestLimits(
        max_body_bytes=options.max_body_bytes,
        max_audio_bytes=options.max_audio_bytes,
        max_audio_seconds=options.max_audio_seconds,
        max_prompt_chars=options.max_prompt_chars,
        max_tokens=options.max_tokens_limit,
        socket_ping_interval=options.socket_ping_interval,
        socket_idle_timeout=options.socket_idle_timeout,
        max_sockets_per_user=options.max_sockets_per_user,
    )


@dataclass
class HandlerState:
    """What the neira handlers serve with: the engine, or the relay to a shared service,
    and the stored responses of ``v1/responses``."""

    options: NeiraApp
    engine: NeiraEngine | None = None
    relay: Relay | None = None
    metrics: NeiraMetrics | None = None
    responses: ResponseStore = field(init=False)
    snapshots: SnapshotStore = field(default_factory=SnapshotStore)

    def __post_init__(self) -> None:
        self.responses = ResponseStore(self.options.responses_per_user, self.options.responses_ttl)

    def settings(self) -> dict[str, Any]:
        """The tornado settings every neira handler reads (``server.base``)."""
        return {
            ENGINE_KEY: self.engine,
            RELAY_KEY: self.relay,
            ISOLATE_KEY: self.options.isolate_users,
            METRICS_KEY: self.metrics,
            LIMITS_KEY: request_limits(self.options),
            RESPONSES_KEY: self.responses,
            SUPERSEDING_KEY: Superseding(),
            SNAPSHOTS_KEY: self.snapshots,
        }

    def start(self) -> None:
        """Start the engine's workers (and, when eager, the model loads)."""
        if self.engine is not None:
            self.engine.start()

    async def stop(self) -> None:
        """Stop the engine (freeing its models) or close the relay."""
        if self.engine is not None:
            COLLECTOR.engines.discard(self.engine)
            await self.engine.stop()
        if self.relay is not None:
            await self.relay.close()


def start_handler_state(
    options: NeiraApp,
    log: logging.Logger | logging.LoggerAdapter[Any],
    make_engine: Callable[[EngineConfig], NeiraEngine] = NeiraEngine,
) -> HandlerState:
    """Apply brain_config.toml and the environment to ``options``, then build the engine
    (with ``make_engine``) and its metrics, or the relay when ``service_url`` is set.

    A bad option is logged and raised as a ``ConfigError``. Nothing is started yet.
    """
    try:
        resolve_options(options)
        # a relay builds no engine config: that would import llama_cpp for nothing
        config = None if options.service_url else build_engine_config(options.option_values())
    except ConfigError as exc:
        log.error("neira: %s", exc)
        raise
    if config is None:
        log.info("neira: no model here; relaying neira/api/* to %s", options.service_url)
        return HandlerState(options, relay=Relay(options.service_url, options.service_token))
    engine = make_engine(config)
    metrics = NeiraMetrics(
        engine,
        {handler: path for path, handler in HANDLERS.items()},
        per_user=options.metrics_per_user,
    )
    engine.observer = metrics
    COLLECTOR.engines.add(engine)  # its gauges are read at every scrape
    for note in config.demo_notes:
        log.info("neira: %s", note)
    return HandlerState(options, engine=engine, metrics=metrics)
