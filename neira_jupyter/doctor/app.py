"""``jupyter neira doctor`` (also ``python -m neira_jupyter.doctor``): check this install.

The options are the server's: ``NeiraApp`` read from the same Jupyter config
files (``jupyter_server_config.py``/``.json`` and
``jupyter_neira_jupyter_config.*`` in ``jupyter --paths``' config
directories, or ``--config FILE``), ``--NeiraApp.x=...`` on the command
line, then ``brain_config.toml`` and the environment
(``server.settings.resolve_options``), turned into the engine's settings by
``engine.config.build_engine_config``. ``--json`` prints the report as JSON,
``--quick`` loads no model. Exit status: 1 when a check failed, else 0
(2 for a configuration that cannot be read).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from jupyter_core.application import JupyterApp, base_aliases, base_flags
from traitlets import Bool, Int, List, Unicode
from traitlets.config import Application

from ..engine.config import ConfigError, build_engine_config
from ..engine.routing import make_source
from ..options import NeiraApp
from ..server.settings import resolve_options
from .report import Report, render_text
from .run import DoctorOptions, run_doctor

__all__ = ["DoctorApp", "main"]

_flags: dict[str, Any] = dict(base_flags)
_flags["json"] = ({"DoctorApp": {"json": True}}, "Print the report as JSON (for scripts).")
_flags["quick"] = ({"DoctorApp": {"quick": True}}, "Load no model: check files and memory only.")
_aliases: dict[str, Any] = dict(base_aliases)
_aliases["max-tokens"] = "DoctorApp.max_tokens"


class DoctorApp(JupyterApp):
    """Check the llama.cpp build, the GPUs, the memory watch and each configured model."""

    name = "jupyter-neira-doctor"
    description = __doc__
    classes = [NeiraApp]  # noqa: RUF012 (traitlets declares it so); --help-all lists them
    flags = _flags
    aliases = _aliases

    json = Bool(False, config=True, help="Print the report as JSON.")
    quick = Bool(False, config=True, help="Load no model: check files, memory and the build.")
    max_tokens = Int(16, config=True, help="Tokens per sequence in the decode check.")
    roles = List(Unicode(), ["primary", "fallback"], config=True,
                 help="Which configured LLMs to check.")  # fmt: skip
    gpu_source = Unicode(
        "nvml",
        config=True,
        help="Where the GPU readings come from: nvml, or (tests) file:PATH or module:attribute "
        "as NeiraApp.memory_source takes them.",
    )

    def _config_file_name_default(self) -> str:
        return "jupyter_server_config"

    def load_config_file(self, suppress_errors: bool = True) -> None:  # type: ignore[override]
        """The server's config files, then the extension's (``jupyter_neira_jupyter_config``)."""
        super().load_config_file(suppress_errors)
        Application.load_config_file(self, "jupyter_neira_jupyter_config",
                                     path=self.config_file_paths)  # fmt: skip

    def report(self) -> Report:
        """Resolve the options as the server does and run the checks."""
        options = NeiraApp(parent=self)
        resolve_options(options)
        config = build_engine_config(options.option_values())
        doctor = DoctorOptions(quick=self.quick, max_tokens=self.max_tokens,
                               roles=tuple(self.roles))  # fmt: skip
        report = run_doctor(config, doctor, make_source(self.gpu_source))
        if options.service_url:
            report.config["relay"] = (
                f"this server relays to {options.service_url}: it loads no model itself; "
                "run the doctor where that service runs"
            )
        return report


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (without the leading ``doctor``), print the report, return the status."""
    app = DoctorApp()
    app.initialize(sys.argv[1:] if argv is None else argv)
    logging.getLogger("neira_jupyter").setLevel(logging.WARNING)
    try:
        report = app.report()
    except ConfigError as exc:
        print(f"neira doctor: the configuration cannot be used: {exc}", file=sys.stderr)
        return 2
    if app.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(render_text(report), end="")
    return 1 if report.verdict == "fail" else 0
