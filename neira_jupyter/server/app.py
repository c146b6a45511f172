"""``NeiraExtension``: the jupyter-server extension that keeps the models resident.

The extension holds no option itself: they are ``NeiraApp``'s (``options.py``;
``--NeiraApp.x=...``, or ``c.NeiraApp.x`` in ``jupyter_server_config.py``;
``jupyter neira --help-all`` lists them). At start it reads them,
``brain_config.toml`` and the environment included, builds the engine (or
the relay) through ``server.settings`` as the Hub service does, and mounts
the neira handlers; it starts the engine with the server and stops it with
the server.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.extension.application import ExtensionApp

from ..options import NeiraApp
from .chat_context import chat_handlers
from .relay import relay_handlers
from .routes import handlers
from .settings import HandlerState, start_handler_state

__all__ = ["NeiraApp", "NeiraExtension", "main"]


class NeiraExtension(ExtensionApp):
    """Local LLM and speech recognition for Jupyter, resident in the server process."""

    name = "neira_jupyter"
    extension_url = "/neira/api/status"
    load_other_extensions = True
    classes = [NeiraApp]  # noqa: RUF012 (as ExtensionApp declares it); --help-all lists them

    options: NeiraApp | None = None
    state: HandlerState | None = None

    def initialize_settings(self) -> None:
        """Read the options (config, brain_config.toml, environment) and build the engine
        or the relay; the handlers find them in the server's settings."""
        self.options = NeiraApp(parent=self)
        self.state = start_handler_state(self.options, self.log)
        self.settings.update(self.state.settings())

    def initialize_handlers(self) -> None:
        """The neira API, or its relay to a shared service; the chat's context either way."""
        relaying = self.state is not None and self.state.relay is not None
        self.handlers.extend(relay_handlers() if relaying else handlers())
        self.handlers.extend(chat_handlers())

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        if self.state is not None:
            self.state.start()

    async def stop_extension(self) -> None:
        """Cancel running work and free the models (or close the relay)."""
        if self.state is not None:
            await self.state.stop()


# ``jupyter neira``: a Jupyter server with the extension; ``--help-all`` lists every option.
main = launch_new_instance = NeiraExtension.launch_instance

if __name__ == "__main__":
    main()
