"""``python -m neira_jupyter.hub``: the engine as a JupyterHub service, the neira API only.

A plain tornado application (no jupyter-server: no contents, kernels,
terminals or pages) mounts the extension's own handlers
(``server.routes.handlers``) under ``JUPYTERHUB_SERVICE_PREFIX`` (e.g.
``/services/neira/`` so ``/services/neira/neira/api/status``), plus
``neira/api/usage`` and ``metrics`` (Prometheus, with per-user counters) for
admins (whose ``DELETE requests/{id}?user=NAME`` cancels anyone's request)
and the Hub's ``oauth_callback``; every
other path is a JSON 404. It listens on ``JUPYTERHUB_SERVICE_URL``. The Hub
sets these for a managed service; a service started elsewhere (Kubernetes,
systemd) gets them, plus ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_API_TOKEN``,
``JUPYTERHUB_CLIENT_ID`` and ``JUPYTERHUB_OAUTH_ACCESS_SCOPES``, from its
environment (docs/hub.md).

``NeiraService`` is a plain traitlets ``Application``: its options are
``NeiraServiceApp``'s (``hub.options``: ``NeiraApp``'s plus the quotas;
``--NeiraServiceApp.x=...`` or ``--NeiraApp.x``, or a ``--config`` file), read
and turned into the engine and the handlers' settings by ``server.settings``
as the extension does. Users are always kept apart (``isolate_users``):
fairness, request ids and cancellation are per Hub user.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from typing import Any
from urllib.parse import urlsplit

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from jupyterhub.singleuser.extension import JupyterHubOAuthCallbackHandler
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from tornado import httpserver, web
from traitlets.config import Application, Config
from traitlets.config.loader import PyFileConfigLoader

from ..engine.config import EngineConfig
from ..engine.quota import QuotaLedger
from ..engine.service import NeiraEngine
from ..protocol import API_PREFIX, REQUEST_ID_PATTERN
from ..server.base import NeiraAPIHandler
from ..server.generate import CancelHandler
from ..server.routes import handlers
from ..server.settings import HandlerState, start_handler_state
from .auth import HubAuthorizer, HubIdentityProvider
from .options import NeiraServiceApp

USAGE_PATH = "usage"
METRICS_PATH = "metrics"


def require_admin(handler: NeiraAPIHandler, what: str) -> None:
    """403 unless the caller holds the admin scope."""
    authorizer: HubAuthorizer = handler.settings["authorizer"]
    if not authorizer.is_admin(handler.current_user):
        raise web.HTTPError(403, f"{what} needs the scope {authorizer.admin_scope}")


class UsageHandler(NeiraAPIHandler):
    """``GET neira/api/usage``: per-user usage and limits, and the queue (admin scope only)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        require_admin(self, "usage")
        engine = self.engine
        usage = engine.admission.report() if isinstance(engine.admission, QuotaLedger) else {}
        for user, row in usage.items():
            row["request_ids"] = [job.id for job in engine.scheduler.jobs_of(user)]
        self.finish({"users": usage, "queue": engine.scheduler.status()})


class ServiceCancelHandler(CancelHandler):
    """``DELETE requests/{id}``: the caller's own request; with the admin scope,
    ``?user=NAME`` cancels NAME's."""

    @web.authenticated
    @authorized("execute")
    async def delete(self, request_id: str) -> None:
        owner = self.get_argument("user", None)
        if owner is None or owner == self.username:
            result = super().delete(request_id)
            if result is not None:
                await result
            return
        require_admin(self, "cancelling another user's request")
        known = re.fullmatch(REQUEST_ID_PATTERN, request_id) is not None
        if not known or not self.engine.cancel(request_id, owner):
            raise web.HTTPError(404, f"no queued or running request {request_id!r} of {owner}")
        self.set_status(204)
        self.finish()


class MetricsHandler(NeiraAPIHandler):
    """``GET metrics``: the service's Prometheus metrics (docs/metrics.md), admin scope only;
    Prometheus scrapes it with a Hub token that holds the scope."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        require_admin(self, "metrics")
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(REGISTRY))


class NotFound(NeiraAPIHandler):
    """Every path that is not the neira API: a JSON 404 (deny by default)."""

    def prepare(self) -> None:  # type: ignore[override]
        raise web.HTTPError(404, "the neira service serves only neira/api/")


class NeiraService(Application):
    """``python -m neira_jupyter.hub``: serves the neira API of ``NeiraServiceApp`` options."""

    name = "neira-hub"
    description = "The neira engine as a JupyterHub service: the neira API only."
    classes = [NeiraServiceApp]  # noqa: RUF012 (traitlets.Application declares it so); --help-all

    options: NeiraServiceApp  # set by load_options, with the two below
    ledger: QuotaLedger
    state: HandlerState

    def load_options(self) -> NeiraServiceApp:
        """The options as configured (config file, command line, then ``brain_config.toml``
        for those not set explicitly, then the environment) and the engine built from them,
        with quotas; nothing started yet."""
        self.options = NeiraServiceApp(parent=self)
        self.ledger = QuotaLedger(self.options.quota_policy())
        self.state = start_handler_state(self.options, self.log, self.make_engine)
        return self.options

    def make_engine(self, config: EngineConfig) -> NeiraEngine:
        """The engine, with the quota ledger as its admission hook and a usage observer."""
        engine = NeiraEngine(config)
        engine.admission = self.ledger
        engine.usage_observers.append(self.ledger)
        return engine

    def make_web_app(self) -> web.Application:
        """The tornado application: the neira routes under the prefix, nothing else."""
        options = self.load_options()
        prefix = options.prefix
        identity = HubIdentityProvider(parent=self, ledger=self.ledger)
        authorizer = HubAuthorizer(
            parent=self, identity_provider=identity, admin_scope=options.admin_scope
        )
        routes: list[Any] = [
            (url_path_join(prefix, path), ServiceCancelHandler if h is CancelHandler else h)
            for path, h in handlers()
        ]
        routes.append((url_path_join(prefix, API_PREFIX, USAGE_PATH), UsageHandler))
        routes.append((url_path_join(prefix, METRICS_PATH), MetricsHandler))
        routes.append(
            (url_path_join(prefix, "oauth_callback"), JupyterHubOAuthCallbackHandler,
             {"hub_auth": identity.hub_auth})
        )  # fmt: skip
        settings = {
            **self.state.settings(),
            **jupyter_handler_settings(prefix, identity, authorizer, self.config),
            "default_handler_class": NotFound,
            "websocket_max_message_size": options.max_audio_bytes,
        }
        return web.Application(routes, **settings)

    async def serve(self) -> None:
        """Listen on ``listen_url`` until SIGTERM/SIGINT, then stop the engine."""
        app = self.make_web_app()
        self.state.start()
        url = urlsplit(self.options.listen_url)
        server = httpserver.HTTPServer(app, xheaders=True)
        server.listen(url.port or 80, url.hostname or "127.0.0.1")
        self.log.info(
            "neira: service listening on %s%s", self.options.listen_url, self.options.prefix
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.stop()
        await self.state.stop()


def jupyter_handler_settings(
    prefix: str, identity: HubIdentityProvider, authorizer: HubAuthorizer, config: Config
) -> dict[str, Any]:
    """What jupyter_server's ``JupyterHandler`` reads that a ``ServerApp`` would set: the
    base URL, the Hub's identity provider and authorizer, the cookie secret."""
    secret = os.environ.get("JUPYTERHUB_COOKIE_SECRET", "")
    return {
        "base_url": prefix,
        "identity_provider": identity,
        "authorizer": authorizer,
        "serverapp": None,
        "config": config,
        "allow_remote_access": True,  # behind the Hub's proxy: Host is the public name
        "headers": {},
        "cookie_secret": bytes.fromhex(secret) if secret else os.urandom(32),
    }


def main(argv: list[str] | None = None) -> None:
    """Parse options (``--config FILE``, ``--NeiraServiceApp.x=...``) and serve."""
    args = list(sys.argv[1:] if argv is None else argv)
    config = Config()
    if "--config" in args:
        i = args.index("--config")
        path = args[i + 1]
        del args[i : i + 2]
        config.merge(
            PyFileConfigLoader(os.path.basename(path), os.path.dirname(path)).load_config()
        )
    service = NeiraService(config=config)
    service.parse_command_line(args)
    asyncio.run(service.serve())
