"""The jupyter-server extension: ``NeiraApp`` (traits, lifecycle) and the API's handlers.

Modules: ``app`` (the extension app and every option), ``base`` (what all
handlers share), ``generate``, ``speech`` and ``status`` (the routes by
concern), ``wire`` (engine results as protocol messages), ``routes``.
"""

from __future__ import annotations

from .app import NeiraApp
from .base import RequestLimits
from .routes import handlers

__all__ = ["NeiraApp", "RequestLimits", "handlers"]
