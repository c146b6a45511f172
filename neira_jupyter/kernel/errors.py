"""What the kernel client raises: typed errors whose ``str()`` tells the user what to do."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

HOW_TO_CONNECT = (
    "Run this notebook in a Jupyter server started with the neira extension "
    "(`pip install neira-jupyter` enables it; check with `jupyter server extension list`), "
    "or point the kernel at a server with the environment variables NEIRA_URL "
    "(e.g. http://127.0.0.1:8888/) and NEIRA_TOKEN."
)


class NeiraError(Exception):
    """Base class of everything the client raises; ``str()`` is meant for the user."""


class ServerNotFound(NeiraError):
    """No neira server could be found or reached."""


class NeiraHTTPError(NeiraError):
    """The server answered with an error status.

    ``status`` is the HTTP status (0 when no answer came), ``message`` the
    server's explanation and ``reason`` its short reason.
    """

    def __init__(self, status: int, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason


class QueueFullError(NeiraHTTPError):
    """429: the server's queue is full; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(429, message, "queue full")
        self.retry_after = retry_after


class DegradedError(NeiraHTTPError):
    """503: no model can serve the request (degraded mode); ``reason`` says why."""

    def __init__(self, message: str, reason: str | None) -> None:
        super().__init__(503, message, reason)


class ModelLoading(DegradedError):
    """503 while a model is still loading; ``models`` are the loading models from status."""

    def __init__(self, message: str, models: list[dict[str, Any]]) -> None:
        super().__init__(message, "loading")
        self.models = models


def describe_loading(models: Sequence[Mapping[str, Any]]) -> str:
    """A user-facing line about models that are still loading."""
    names = ", ".join(str(model.get("name", "?")) for model in models)
    return (
        f"The model is still loading: {names}. Try again in a moment "
        "(`%neira status` shows the models' state)."
    )


def queue_full(message: str, retry_after: float | None) -> QueueFullError:
    hint = f"try again in {retry_after:g} s" if retry_after is not None else "try again later"
    return QueueFullError(f"The neira queue is full ({message}); {hint}.", retry_after)


def degraded(message: str, reason: str | None) -> DegradedError:
    return DegradedError(f"No model can answer right now (degraded mode): {message}", reason)
