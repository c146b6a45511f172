"""The jupyter-server extension: ``NeiraExtension`` (lifecycle) and the API's handlers.

Modules: ``app`` (the extension app; its options are ``neira_jupyter.options.NeiraApp``),
``settings`` (options -> engine or relay -> the handlers' settings), ``base`` (what all
handlers share), ``generate``, ``speech`` and ``status`` (the routes by
concern), ``wire`` (engine results as protocol messages), ``routes``.
"""

from __future__ import annotations

from .app import NeiraApp, NeiraExtension
from .base import RequestLimits
from .routes import handlers

__all__ = ["NeiraApp", "NeiraExtension", "RequestLimits", "handlers"]
