"""The IPython extension: ``load_ipython_extension`` / ``unload_ipython_extension``.

``%load_ext neira_jupyter`` (or ``neira_jupyter.kernel``) registers one
``NeiraMagics`` per shell, its ``post_run_cell`` hook that records cell errors,
and the ``Err`` record in the user namespace; unloading removes all three.
"""

from __future__ import annotations

import contextlib
import copy
import sys
from typing import Any

from traitlets import TraitError

from .magics import NeiraMagics

__all__ = ["load_ipython_extension", "unload_ipython_extension"]

_LOADED: dict[int, NeiraMagics] = {}


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics, the ``Err`` record and the error hook on ``ipython``."""
    if id(ipython) in _LOADED:
        return
    try:
        magics = NeiraMagics(shell=ipython)
    except TraitError as exc:  # e.g. a bad `%config NeiraMagics.x = ...` kept in shell.config
        print(f"neira: ignoring the NeiraMagics settings: {exc}", file=sys.stderr)
        config = copy.deepcopy(ipython.config)
        config.pop("NeiraMagics", None)
        magics = NeiraMagics(shell=ipython, config=config)
    ipython.register_magics(magics)
    ipython.events.register("post_run_cell", magics.record_error)
    if "Err" not in ipython.user_ns:  # hidden like In and Out (%who, Neira's variables)
        ipython.user_ns["Err"] = ipython.user_ns_hidden["Err"] = magics.errors
    _LOADED[id(ipython)] = magics


def unload_ipython_extension(ipython: Any) -> None:
    """Remove what ``load_ipython_extension`` added."""
    magics = _LOADED.pop(id(ipython), None)
    if magics is None:
        return
    with contextlib.suppress(ValueError):
        ipython.events.unregister("post_run_cell", magics.record_error)
    registry = ipython.magics_manager.magics
    for kind, names in (("cell", ("neira",)), ("line", ("neira", "transcribe"))):
        for name in names:
            registry[kind].pop(name, None)
    if magics in ipython.configurables:
        ipython.configurables.remove(magics)
    if ipython.user_ns.get("Err") is magics.errors:
        del ipython.user_ns["Err"]
    if ipython.user_ns_hidden.get("Err") is magics.errors:
        del ipython.user_ns_hidden["Err"]
