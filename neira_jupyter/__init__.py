"""neira-jupyter: a local, private AI assistant inside Jupyter.

This top-level module stays import-light: kernels import it to load the
magics (``%load_ext neira_jupyter``), and they must not pull in jupyter_server,
llama_cpp or faster_whisper. The server extension entry points import the
server package lazily.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["Recorder", "__version__", "load_ipython_extension", "unload_ipython_extension"]


def __getattr__(name: str) -> Any:
    """``neira_jupyter.Recorder`` without importing the widget code at package import."""
    if name == "Recorder":
        from .kernel.widget import Recorder

        return Recorder
    raise AttributeError(f"module 'neira_jupyter' has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Tell jupyter_server where the extension app lives."""
    from .server.app import NeiraExtension

    return [{"module": "neira_jupyter.server.app", "app": NeiraExtension}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Tell JupyterLab where the prebuilt lab extension is."""
    return [{"src": "labextension", "dest": "neira-jupyter"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext neira_jupyter``: register the ``%%neira`` and ``%transcribe`` magics."""
    from .kernel.extension import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext neira_jupyter``: remove what ``load_ipython_extension`` added."""
    from .kernel.extension import unload_ipython_extension as _unload

    _unload(ipython)
