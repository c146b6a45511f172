"""``NeiraServiceApp``: the JupyterHub service's options, ``NeiraApp``'s plus its own.

The class is the config section of the service (``--NeiraServiceApp.x=...``
or ``c.NeiraServiceApp.x``); as a subclass of ``NeiraApp`` it reads
``c.NeiraApp.x`` too. It adds where the service listens, the per-user quotas
(``engine.quota``) and the admin scope, and changes three defaults: users are
always kept apart, metrics are per user, and the service never relays.
"""

from __future__ import annotations

import os

from traitlets import Dict, Float, Int, Unicode, default

from ..engine.quota import Limits, QuotaPolicy
from ..options import NeiraApp
from .auth import ADMIN_SCOPE

__all__ = ["NeiraServiceApp"]


class NeiraServiceApp(NeiraApp):
    """The options of the neira engine as a JupyterHub service, with per-user quotas."""

    service_prefix = Unicode(
        config=True, help="URL prefix (default: JUPYTERHUB_SERVICE_PREFIX, else /services/neira/)."
    )
    listen_url = Unicode(
        config=True, help="Address to listen on (default: JUPYTERHUB_SERVICE_URL)."
    )
    requests_per_minute = Int(0, config=True, help="Generations per user per minute (0: any).")
    tokens_per_day = Int(0, config=True, help="Generated tokens per user per UTC day (0: any).")
    audio_seconds_per_day = Float(
        0.0, config=True, help="Audio seconds per user per UTC day that Whisper decodes (0: any)."
    )
    group_limits = Dict(
        config=True,
        help='Per-group overrides, e.g. {"staff": {"tokens_per_day": 0}}; a user in several '
        "groups gets the most generous value of each limit.",
    )
    admin_scope = Unicode(ADMIN_SCOPE, config=True, help="Scope that may read neira/api/usage.")

    @default("service_prefix")
    def _default_prefix(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/neira/")

    @default("listen_url")
    def _default_listen(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101")

    @default("isolate_users")
    def _default_isolate(self) -> bool:
        return True

    @default("metrics_per_user")
    def _default_metrics_per_user(self) -> bool:
        return True  # the Hub's users are a known, bounded set

    @default("service_url")
    def _default_service_url(self) -> str:
        return ""  # the service itself never relays

    @property
    def prefix(self) -> str:
        """``service_prefix`` ending in ``/``."""
        prefix: str = self.service_prefix
        return prefix if prefix.endswith("/") else prefix + "/"

    def quota_policy(self) -> QuotaPolicy:
        """The per-user quotas, with the groups' overrides."""
        limits = Limits(self.requests_per_minute, self.tokens_per_day, self.audio_seconds_per_day)
        return QuotaPolicy.from_options(limits, self.group_limits)
