"""Configuration: every default on a ``NeiraApp`` trait, brain_config.toml, env, precedence."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from neira_jupyter.engine.config import (
    ConfigError,
    build_engine_config,
    env_overrides,
    read_brain_config,
)
from neira_jupyter.engine.endpoint import RemoteSpec
from neira_jupyter.engine.llm import LLMSpec
from neira_jupyter.engine.models import DEMO_LLM_NAME, demo_llm_path
from neira_jupyter.engine.routing import MemoryWatch, PressureThresholds, RouterConfig
from neira_jupyter.engine.speech import SpeechSpec
from neira_jupyter.engine.types import GenerationOptions
from neira_jupyter.hub.options import NeiraServiceApp
from neira_jupyter.hub.service import NeiraService
from neira_jupyter.kernel.settings import MagicSettings
from neira_jupyter.options import NeiraApp
from neira_jupyter.server.settings import apply_overrides, brain_config_path
from tests.support.helpers import remote_spec

REPO = Path(__file__).resolve().parents[2]
BRAIN = """
[llm]
primary_model = "mistral"
primary_path = "/models/mistral.gguf"
primary_context = 4096
default_temperature = 0.2
default_max_tokens = 99
gpu_layers = -1
cuda_enabled = false

[fallback_rules]
max_local_attempts = 3
local_timeout_ms = 250
allow_external_api = false
"""


def app_with(
    tmp_path: Path, brain: str, env: dict[str, str] | None = None, **explicit: Any
) -> NeiraApp:
    """A ``NeiraApp`` configured like the server does it: Jupyter config, TOML, environment."""
    app = NeiraApp(config=Config({"NeiraApp": explicit}))
    path = tmp_path / "brain_config.toml"
    path.write_text(brain, encoding="utf-8")
    apply_overrides(app, read_brain_config(path), env_overrides(env or {}), str(path))
    return app


def test_brain_config_keys_map_to_options(tmp_path: Path) -> None:
    path = tmp_path / "brain_config.toml"
    path.write_text(BRAIN, encoding="utf-8")
    options = read_brain_config(path)
    assert options["primary_path"] == "/models/mistral.gguf"
    config = build_engine_config(app_with(tmp_path, BRAIN).option_values())
    assert config.primary is not None
    assert config.primary.name == "mistral"
    assert config.primary.n_ctx == 4096
    assert config.primary.n_gpu_layers == 0  # cuda_enabled = false wins over gpu_layers
    assert config.defaults.temperature == 0.2
    assert config.defaults.max_tokens == 99
    assert config.max_local_attempts == 3
    assert config.local_timeout_ms == 250
    assert not any("demo LLM" in note for note in config.demo_notes)


def test_missing_brain_config_is_empty(tmp_path: Path) -> None:
    assert read_brain_config(tmp_path / "nope.toml") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[llm]\nprimary_modle = 'x'\n", "unknown key [llm].primary_modle"),
        ("[llm\n", "not valid TOML"),
        ("llm = 3\n", "[llm] must be a table"),
    ],
)
def test_bad_brain_config_says_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "brain_config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_brain_config(path)


def test_env_overrides_win_over_traits_and_toml(tmp_path: Path) -> None:
    brain = '[llm]\nprimary_path = "/toml.gguf"\ndefault_max_tokens = 99\n'
    app = app_with(tmp_path, brain, default_max_tokens=7)
    assert (app.primary_path, app.default_max_tokens) == ("/toml.gguf", 7)  # explicit wins
    env = {"LLM_ENABLED": "false", "LLM_MODEL_PATH": "/env/model.gguf"}
    app = app_with(tmp_path, brain, env, primary_path="/trait.gguf")
    assert (app.primary_path, app.llm_enabled) == ("/env/model.gguf", False)
    with pytest.raises(ConfigError, match="LLM_ENABLED"):
        env_overrides({"LLM_ENABLED": "maybe"})


def test_bad_brain_value_names_its_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[llm\]\.primary_context"):
        app_with(tmp_path, '[llm]\nprimary_context = "big"\n')
    with pytest.raises(ConfigError, match=r"\[fallback_rules\]\.allow_external_api"):
        app_with(tmp_path, "[fallback_rules]\nallow_external_api = 3\n")


def test_api_keys_come_from_the_environment_and_stay_out_of_the_loaded_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """jupyter_server logs the config it loads at --debug; keys from the environment are
    the options' values without ever being part of that config."""
    monkeypatch.setenv("NEIRA_REMOTE_API_KEY", "sk-remote-from-env")
    monkeypatch.setenv("NEIRA_SPEECH_REMOTE_API_KEY", "sk-speech-from-env")
    remotes = {"remote_url": "http://gpu:8000/v1", "remote_model": "m"}
    remotes |= {"speech_remote_url": "http://gpu:9000/v1", "speech_remote_model": "w"}
    app = NeiraApp(config=Config({"NeiraApp": remotes}))
    config = build_engine_config(app.option_values())
    assert config.remote is not None and config.remote.api_key == "sk-remote-from-env"
    assert config.speech_remote is not None
    assert config.speech_remote.api_key == "sk-speech-from-env"
    assert "from-env" not in repr(app.config)
    chosen = NeiraApp(config=Config({"NeiraApp": {"remote_api_key": "sk-from-config"}}))
    assert chosen.remote_api_key == "sk-from-config"  # the config still wins


def test_engine_config_restates_no_default() -> None:
    defaults = NeiraApp.option_defaults()
    config = build_engine_config(defaults)
    assert config.queue_capacity == defaults["queue_size"]
    assert config.defaults.max_tokens == defaults["default_max_tokens"]
    assert config.defaults.temperature == defaults["default_temperature"]
    assert config.memory_thresholds.low_mib == defaults["memory_low_mib"]
    assert config.primary is not None and config.primary.n_ctx == defaults["demo_context"]
    remotes = {"remote_url": "http://gpu:8000/v1", "remote_model": "m"}
    remotes |= {"speech_remote_url": "http://gpu:9000/v1", "speech_remote_model": "w"}
    config = build_engine_config({**defaults, **remotes})
    for prefix, spec in (("remote", config.remote), ("speech_remote", config.speech_remote)):
        assert spec is not None and spec.timeout_s == defaults[f"{prefix}_timeout"]
        assert spec.concurrency == defaults[f"{prefix}_concurrency"]
    missing = dict(defaults)
    del missing["queue_size"]
    with pytest.raises(ConfigError, match="queue_size"):
        build_engine_config(missing)


def test_no_option_defaults_to_none() -> None:
    """Every option has its real default, so ``--help-all`` shows it."""
    assert [name for name, value in NeiraApp.option_defaults().items() if value is None] == []


def test_nothing_configured_means_demo_models() -> None:
    config = build_engine_config(NeiraApp.option_defaults())
    assert config.demo is True
    assert config.primary is not None and config.primary.name == DEMO_LLM_NAME
    assert config.primary.path == demo_llm_path()
    assert config.speech is not None


def test_every_option_has_help() -> None:
    traits: dict[str, Any] = NeiraApp.class_traits(config=True)
    own = {name: t for name, t in traits.items() if t.this_class is NeiraApp}
    assert len(own) > 30
    assert not [name for name, trait in own.items() if not (trait.help or "").strip()]


def test_help_all_documents_every_option() -> None:
    output = subprocess.run(
        [sys.executable, "-m", "neira_jupyter.server.app", "--help-all"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    own = [n for n, t in NeiraApp.class_traits(config=True).items() if t.this_class is NeiraApp]
    missing = [name for name in own if f"--NeiraApp.{name}=" not in output]
    assert not missing


def test_brain_config_is_read_from_jupyter_config_dirs_not_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook user can write the root folder; only the administrator's config dirs count."""
    root = tmp_path / "notebooks"
    admin = tmp_path / "etc-jupyter"
    root.mkdir()
    admin.mkdir()
    (root / "brain_config.toml").write_text("[llm]\ndefault_max_tokens = 1\n", encoding="utf-8")
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(admin))
    app = NeiraApp()
    assert brain_config_path(app).parent != root
    (admin / "brain_config.toml").write_text("[llm]\ndefault_max_tokens = 7\n", encoding="utf-8")
    assert brain_config_path(app) == admin / "brain_config.toml"
    assert read_brain_config(brain_config_path(app))["default_max_tokens"] == 7


def test_remote_api_key_never_shows(tmp_path: Path) -> None:
    from neira_jupyter.engine.llm import RemoteModel

    spec = remote_spec("http://user:secret@gpu-box:8000/v1?key=k2", "m", api_key="sk-hidden")
    shown = repr(spec) + repr(RemoteModel(spec).describe())
    assert "sk-hidden" not in shown
    assert "secret" not in shown and "k2" not in shown
    assert "gpu-box:8000/v1" in shown


def test_hub_service_keeps_explicit_neira_app_options_over_brain_config(tmp_path: Path) -> None:
    """``c.NeiraApp.x`` (a config file) and ``--NeiraApp.x`` win over brain_config.toml under
    the Hub service too, as they do in the extension."""
    brain = tmp_path / "brain_config.toml"
    brain.write_text("[llm]\ndefault_max_tokens = 99\ndefault_top_p = 0.5\n"
                     "[fallback_rules]\nmax_local_attempts = 5\n", encoding="utf-8")  # fmt: skip
    config_file = tmp_path / "neira_service_config.py"
    config_file.write_text("c.NeiraApp.default_max_tokens = 7\n", encoding="utf-8")
    config = PyFileConfigLoader(config_file.name, str(tmp_path)).load_config()
    service = NeiraService(config=config)
    service.parse_command_line([f"--NeiraApp.brain_config={brain}", "--NeiraApp.default_top_p=.25"])
    options = service.load_options()  # the real loading: brain_config.toml, environment, engine
    assert options.default_max_tokens == 7  # c.NeiraApp in the config file
    assert options.default_top_p == 0.25  # --NeiraApp on the command line
    assert options.max_local_attempts == 5  # not set explicitly: brain_config.toml's
    assert service.state.engine is not None
    assert service.state.engine.config.defaults.max_tokens == 7
    asyncio.run(service.state.stop())  # takes the engine off the metrics collector


# engine dataclass -> {field: the NeiraApp option whose default it takes, or the several
# options it is built from (their defaults differ: the field has none, every construction
# passes the option's value)}
ENGINE_DEFAULTS: dict[type, dict[str, str | tuple[str, ...]]] = {
    RouterConfig: {
        "max_local_attempts": "max_local_attempts",
        "local_timeout_ms": "local_timeout_ms",
        "quick_max_tokens": "quick_max_tokens",
        "failure_cooldown_s": "failure_cooldown",
        "allow_external_api": "allow_external_api",
        "unload_on_pressure": "unload_on_pressure",
        "preload": "eager_load",
        "overflow_queue": "remote_overflow_queue",
    },
    PressureThresholds: {
        "low_mib": "memory_low_mib",
        "recover_mib": "memory_recover_mib",
        "recover_s": "memory_recover_seconds",
        "critical_mib": "memory_critical_mib",
    },
    GenerationOptions: {
        "max_tokens": "default_max_tokens",
        "temperature": "default_temperature",
        "top_p": "default_top_p",
    },
    SpeechSpec: {
        "device": "speech_device",
        "compute_type": "speech_compute_type",
        "num_workers": "speech_workers",
        "batch": "speech_batch",
    },
    LLMSpec: {"n_ctx": ("primary_context", "fallback_context", "demo_context")},
    RemoteSpec: {
        "timeout_s": ("remote_timeout", "speech_remote_timeout"),
        "concurrency": ("remote_concurrency", "speech_remote_concurrency"),
    },
}


@pytest.mark.parametrize("cls", list(ENGINE_DEFAULTS), ids=lambda cls: cls.__name__)
def test_engine_dataclasses_take_their_defaults_from_the_options(cls: type) -> None:
    """A default lives on its ``NeiraApp`` trait only: each field's default is written as
    ``option_default("<option>")``, never as a literal, and equals the trait's; a field
    built from several options has no default at all."""
    options = NeiraApp.option_defaults()
    fields = {f.name: f for f in dataclasses.fields(cls)}
    declared = {name: f.default for name, f in fields.items()}
    written = {
        node.target.id: node.value
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(cls))))
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }
    for name, option in ENGINE_DEFAULTS[cls].items():
        if isinstance(option, tuple):
            assert all(o in options for o in option), (name, option)
            assert declared[name] is dataclasses.MISSING, (
                f"{cls.__name__}.{name} restates a default: {declared[name]!r}"
            )
            assert fields[name].default_factory is dataclasses.MISSING, name
            continue
        assert declared[name] == options[option], (name, option)
        value = written[name]
        assert isinstance(value, ast.Call) and ast.unparse(value) == (
            f"option_default('{option}')"
        ), f"{cls.__name__}.{name} restates a default: {ast.unparse(value)}"


def test_memory_watch_polls_at_the_option_default() -> None:
    interval = inspect.signature(MemoryWatch).parameters["interval_s"].default
    assert interval == NeiraApp.option_defaults()["memory_interval"]


def test_kernel_limits_are_the_protocols() -> None:
    """The magics' bounds are the server's request bounds, stated by the protocol only."""
    from neira_jupyter.kernel.options import MAX_TOKENS_RANGE, TEMPERATURE_RANGE
    from neira_jupyter.protocol import MAX_TOKENS_LIMIT

    assert MAX_TOKENS_RANGE == (1, MAX_TOKENS_LIMIT)
    assert TEMPERATURE_RANGE == (0.0, 2.0)
    kernel = Path(inspect.getfile(MagicSettings)).parent
    restating = [p.name for p in kernel.glob("*.py") if str(MAX_TOKENS_LIMIT) in p.read_text()]
    assert not restating


def test_every_option_is_documented() -> None:
    """README's configuration reference names every ``NeiraApp`` option, docs/hub.md every
    option of the Hub service."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    hub = (REPO / "docs" / "hub.md").read_text(encoding="utf-8")
    assert [name for name in NeiraApp.option_defaults() if f"`{name}`" not in readme] == []
    own = NeiraServiceApp.class_own_traits(config=True)
    assert [name for name in own if f"`{name}`" not in hub] == []
