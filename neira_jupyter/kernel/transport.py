"""HTTP to ``{base_url}neira/api/`` over httpx: TCP or a Unix socket, errors mapped to types.

``Transport`` owns one ``httpx.Client``. Plain requests send
``Connection: close`` so nothing stays open between magics; a streaming
request keeps its connection until the stream is closed. Any failure
becomes one of the errors in ``kernel.errors``, with a message saying
what to do. httpx is imported with the first ``Transport`` (it takes most of a
second to import), so loading the magics stays quick.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from ..protocol import API_PREFIX, ErrorBody
from .errors import (
    HOW_TO_CONNECT,
    NeiraHTTPError,
    ServerNotFound,
    degraded,
    queue_full,
)

if TYPE_CHECKING:
    import httpx


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying SSL context for every client (building one per client is slow)."""
    return ssl.create_default_context()


def api_url(base_url: str) -> str:
    """``base_url`` with ``neira/api/`` appended unless it already ends so."""
    if not base_url.endswith("/"):
        base_url += "/"
    if not base_url.rstrip("/").endswith(API_PREFIX.rstrip("/")):
        base_url += API_PREFIX
    return base_url


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def error_body(body: bytes, fallback: str) -> tuple[str, str | None]:
    """The server's message and reason from an error body (``protocol.ErrorBody``)."""
    try:
        error = ErrorBody.model_validate_json(body)
    except ValidationError:
        text = body.decode("utf-8", "replace").strip()
        return (text[:500] or fallback), None
    return error.message or error.reason or fallback, error.reason


class Transport:
    """Sends requests to one server's neira API; ``base_url`` ends in ``neira/api/``."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float,
        read_timeout: float | None,
        source: str,
    ) -> None:
        self.base_url = api_url(base_url)
        self.token = token or None
        self.source = source
        self.timeout = timeout
        self.read_timeout = read_timeout
        import httpx

        parts = urlsplit(self.base_url)
        if parts.scheme not in {"http", "https", "http+unix"}:
            raise ServerNotFound(f"unsupported URL scheme in {base_url!r}. {HOW_TO_CONNECT}")
        transport: httpx.HTTPTransport | None = None
        http_url = self.base_url
        if parts.scheme == "http+unix":
            transport = httpx.HTTPTransport(uds=unquote(parts.netloc))
            http_url = parts._replace(scheme="http", netloc="localhost").geturl()
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        self._http = httpx.Client(
            base_url=http_url,
            headers=headers,
            transport=transport,
            # plain HTTP needs no certificates (loading them costs ~0.3 s per process)
            verify=_ssl_context() if parts.scheme == "https" else False,
            timeout=httpx.Timeout(timeout, read=read_timeout),
            trust_env=False,
        )

    def close(self) -> None:
        self._http.close()

    def send(
        self,
        method: str,
        endpoint: str,
        *,
        stream: bool = False,
        read_timeout: float | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request; raise a typed error unless the answer is 2xx.

        With ``stream=True`` the body is left unread; the caller closes the response.
        """
        import httpx

        headers: dict[str, str] = dict(kwargs.pop("headers", None) or {})
        if not stream:
            headers.setdefault("Connection", "close")
        timeout = httpx.Timeout(self.timeout, read=read_timeout or self.read_timeout)
        request = self._http.build_request(
            method, endpoint, headers=headers, timeout=timeout, **kwargs
        )
        try:
            response = self._http.send(request, stream=stream)
        except httpx.ConnectError as exc:
            raise ServerNotFound(
                f"No neira server answers at {self.base_url} (from {self.source}): {exc}. "
                f"{HOW_TO_CONNECT}"
            ) from None
        except httpx.TimeoutException:
            raise NeiraHTTPError(
                0, f"The server at {self.base_url} did not answer within {timeout.read} s."
            ) from None
        except httpx.HTTPError as exc:
            raise NeiraHTTPError(0, f"The request to {self.base_url} failed: {exc}") from None
        if response.status_code >= 400:
            try:
                body = response.read()
            finally:
                response.close()
            self.raise_for_status(endpoint, response.status_code, response.headers, body)
        return response

    def raise_for_status(
        self, endpoint: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> None:
        """The typed error for an error answer (403, 404, 429 and 503 get their own)."""
        message, reason = error_body(body, f"HTTP {status}")
        if status == 429:
            raise queue_full(message, _retry_after(headers.get("Retry-After")))
        if status == 503:
            raise degraded(message, reason)
        if status in (401, 403):
            raise NeiraHTTPError(
                status,
                f"The server at {self.base_url} refused the request ({message}). The token "
                f"from {self.source} was not accepted: set NEIRA_TOKEN to the server's token.",
                reason,
            )
        if status == 404 and not endpoint.startswith("requests/"):
            raise ServerNotFound(
                f"The Jupyter server at {self.base_url} has no neira API (HTTP 404): enable the "
                "extension with `jupyter server extension enable neira_jupyter` and restart it."
            )
        raise NeiraHTTPError(status, f"The server answered {status}: {message}", reason)
