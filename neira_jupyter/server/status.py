"""``GET api/status`` (models, route, memory pressure, queue) and ``GET api/openapi.json``."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .._version import __version__
from ..protocol import openapi
from ..serving.wire import status_document
from .base import NeiraAPIHandler


class StatusHandler(NeiraAPIHandler):
    """``GET api/status``: the engine's status as a ``protocol.StatusDocument``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(status_document(self.engine.status(self.username)))


class OpenAPIHandler(NeiraAPIHandler):
    """``GET api/openapi.json``: the OpenAPI 3.1 description of every route."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(openapi(version=__version__, server_url=self.base_url))
