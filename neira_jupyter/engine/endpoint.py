"""An OpenAI-compatible server this engine may send work to: where it is, and what every
backend behind one shares.

``RemoteSpec`` says where the server is (``base_url``, which may hold
credentials and so never appears in a repr, a log or status; ``public_url``
is what those show), which model to ask for, the API key (a Bearer token),
the timeout and how many requests may be in flight. ``RemoteEndpoint`` is
the part of ``llm.RemoteModel`` and ``speech.RemoteTranscriber`` that is the
same: nothing to load, a name, the last error and the status entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from .types import ModelState

__all__ = ["RemoteEndpoint", "RemoteSpec"]


@dataclass(frozen=True)
class RemoteSpec:
    """Where the remote API is and which model to ask for.

    ``timeout_s`` bounds connecting, sending and every wait for the next piece
    of the answer; ``concurrency`` is how many requests may be in flight to it
    at once (its own lane's threads).
    """

    base_url: str = field(repr=False)  # e.g. http://gpu-box:8000/v1; may hold credentials
    model: str
    api_key: str = field(default="", repr=False)  # never in a repr, a log or status
    # No defaults: the LLM's (remote_*) and the transcriptions' (speech_remote_*) options differ.
    timeout_s: float = field(kw_only=True)
    concurrency: int = field(kw_only=True)

    @property
    def public_url(self) -> str:
        """``base_url`` without credentials or a query: what status, logs and errors show."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    @property
    def name(self) -> str:
        return f"remote:{self.model}"


class RemoteEndpoint:
    """A backend on a remote server: always ready (nothing is loaded), its last error kept."""

    kind: ClassVar[str]

    def __init__(self, spec: RemoteSpec) -> None:
        self.spec = spec
        self.state = ModelState.READY  # nothing to load; failures are counted by the caller
        self.error: str | None = None  # the last failure, for status

    @property
    def name(self) -> str:
        return self.spec.name

    def describe(self) -> dict[str, Any]:
        """The backend's part of the status document (``url`` without credentials)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "file": None,
            "url": self.spec.public_url,
            "state": self.state.value,
            "error": self.error,
            "device": "remote",
            "memory_bytes": 0,
        }

    def load(self) -> None:
        self.state = ModelState.READY

    def transport_failure(self, exc: httpx.HTTPError, what: str) -> str:
        """What a request to ``what`` (e.g. "remote API") that failed in transit says:
        that it timed out, or the transport's error; the URL without credentials."""
        where = f"{what} {self.spec.public_url}"
        if isinstance(exc, httpx.TimeoutException):
            return f"{where} did not answer within {self.spec.timeout_s:g} s ({type(exc).__name__})"
        return f"{where} failed: {exc!r}"

    def close(self) -> None:
        """Nothing is held between requests."""
