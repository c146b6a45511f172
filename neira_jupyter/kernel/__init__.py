"""What runs inside the kernel: the client that finds the server, the magics, the widgets.

Must import without llama_cpp, faster_whisper or jupyter_server. The public
names below are loaded on first use, so ``import neira_jupyter.kernel.client``
does not pull in IPython's magics or anywidget.

Modules: ``client`` (HTTP to the server), ``magics`` (``NeiraMagics``),
``settings`` (its traits), ``answer`` (one streamed answer), ``results``
(what ``--out`` stores), ``render`` (MIME bundles), ``prompt`` (prompt
templates, chat history, recorded errors), ``options`` and ``help`` (what
the magics accept and say), ``extension`` (load/unload), ``widget``
(the ``Recorder``).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "GenerationStopped",
    "NeiraMagics",
    "NeiraResult",
    "Recorder",
    "TranscriptResult",
    "load_ipython_extension",
    "unload_ipython_extension",
]

_HOMES = {
    "GenerationStopped": "results",
    "NeiraMagics": "magics",
    "NeiraResult": "results",
    "Recorder": "widget",
    "TranscriptResult": "results",
    "load_ipython_extension": "extension",
    "unload_ipython_extension": "extension",
}


def __getattr__(name: str) -> Any:
    """Each public name, imported from its module when first asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'neira_jupyter.kernel' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
