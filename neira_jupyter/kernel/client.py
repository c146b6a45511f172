"""The kernel's HTTP client for the neira server API (see ``docs/api.md``).

``NeiraClient.discover()`` finds the Jupyter server that launched the kernel,
with no configuration in the common case:

1. ``NEIRA_URL`` (and ``NEIRA_TOKEN``) in the environment win. ``NEIRA_URL`` is
   the Jupyter server's URL including its base URL (``http://host:8888/``);
   a URL that already ends in ``neira/api/`` is taken as is.
2. Otherwise ``JPY_PARENT_PID`` (set by jupyter_client when a server launches a
   kernel) names the server's runtime file ``jpserver-<pid>.json`` in
   ``jupyter_core.paths.jupyter_runtime_dir()``, which holds its ``url`` and
   ``token``. The file is read directly: the kernel never imports jupyter_server.

Only the standard library speaks HTTP here (``http.client``), so importing the
kernel package stays fast and light. Generation streams NDJSON; each line is
parsed into a typed event (``StartEvent``, ``TokenEvent``, ``DoneEvent``).
Failures become typed errors whose messages say what to do:
``ServerNotFound``, ``ModelLoading``, ``QueueFullError``, ``DegradedError`` and
the generic ``NeiraHTTPError``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import socket
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

__all__ = [
    "DegradedError",
    "DoneEvent",
    "GenerateEvent",
    "GenerateRequest",
    "GenerationStream",
    "ModelLoading",
    "NeiraClient",
    "NeiraError",
    "NeiraHTTPError",
    "QueueFullError",
    "ServerNotFound",
    "StartEvent",
    "TokenEvent",
    "new_request_id",
]

API_PATH = "neira/api/"
_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "[::]"})

HOW_TO_CONNECT = (
    "Run this notebook in a Jupyter server started with the neira extension "
    "(`pip install neira-jupyter` enables it; check with `jupyter server extension list`), "
    "or point the kernel at a server with the environment variables NEIRA_URL "
    "(e.g. http://127.0.0.1:8888/) and NEIRA_TOKEN."
)

AUDIO_TYPES: dict[str, str] = {
    ".wav": "audio/wav",
    ".wave": "audio/wav",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".webm": "audio/webm",
    ".m4a": "audio/mp4",
    ".pcm": "audio/L16",
}


# --------------------------------------------------------------------------- errors


class NeiraError(Exception):
    """Base class of everything the client raises; ``str()`` is meant for the user."""


class ServerNotFound(NeiraError):
    """No neira server could be found or reached."""


class NeiraHTTPError(NeiraError):
    """The server answered with an error status.

    ``status`` is the HTTP status, ``message`` the server's explanation (the
    ``message`` field of its JSON error body) and ``reason`` its short reason.
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


# --------------------------------------------------------------------------- events


def new_request_id() -> str:
    """A fresh request id matching the API's ``[A-Za-z0-9_-]{1,64}``."""
    return "k" + uuid.uuid4().hex


@dataclass(frozen=True)
class StartEvent:
    """The server accepted the request and chose a backend."""

    request_id: str
    model: str
    route: str
    route_reason: str = ""


@dataclass(frozen=True)
class TokenEvent:
    """A piece of generated text."""

    text: str


@dataclass(frozen=True)
class DoneEvent:
    """The generation ended; ``text`` is the whole answer."""

    request_id: str
    text: str
    model: str
    route: str
    finish_reason: str
    route_reason: str = ""
    usage: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float | None] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> DoneEvent:
        return cls(
            request_id=str(obj.get("request_id", "")),
            text=str(obj.get("text", "")),
            model=str(obj.get("model", "")),
            route=str(obj.get("route", "")),
            route_reason=str(obj.get("route_reason") or ""),
            finish_reason=str(obj.get("finish_reason", "stop")),
            usage=dict(obj.get("usage") or {}),
            timings=dict(obj.get("timings") or {}),
        )


GenerateEvent = StartEvent | TokenEvent | DoneEvent


def parse_event(obj: Mapping[str, Any]) -> GenerateEvent:
    """Turn one NDJSON object into a typed event; an ``error`` object raises its error."""
    kind = obj.get("type")
    if kind == "token":
        return TokenEvent(text=str(obj.get("text", "")))
    if kind == "start":
        return StartEvent(
            request_id=str(obj.get("request_id", "")),
            model=str(obj.get("model", "")),
            route=str(obj.get("route", "")),
            route_reason=str(obj.get("route_reason") or ""),
        )
    if kind == "done":
        return DoneEvent.from_json(obj)
    if kind == "error":
        status = int(obj.get("status") or 500)
        message = str(obj.get("message") or "the server reported an error")
        if status == 503:
            raise DegradedError(
                f"No model can answer right now (degraded mode): {message}", obj.get("reason")
            )
        if status == 429:
            raise QueueFullError(f"The neira queue is full ({message}); try again later.", None)
        raise NeiraHTTPError(status, message, obj.get("reason"))
    raise NeiraHTTPError(502, f"unexpected message from the server: {dict(obj)!r}")


@dataclass
class GenerateRequest:
    """The body of ``POST api/generate``; ``None`` fields are left to the server."""

    prompt: str | None = None
    messages: list[dict[str, str]] | None = None
    system: str | None = None
    model: str = "auto"
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    seed: int | None = None
    stream: bool = True
    request_id: str = field(default_factory=new_request_id)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "stream": self.stream,
            "request_id": self.request_id,
        }
        optional: dict[str, Any] = {
            "prompt": self.prompt,
            "messages": self.messages,
            "system": self.system,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": self.stop,
            "seed": self.seed,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body


# --------------------------------------------------------------------------- connection


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket (a server started with ``--sock``)."""

    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self._socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._socket_path)
        self.sock = sock


class GenerationStream:
    """An open streaming generation: iterate for events, ``close()`` to hang up.

    A reader thread owns the HTTP response and parses lines into a queue; the
    caller's thread only waits on that queue. So an interrupt (KeyboardInterrupt
    from SIGINT) in the caller never lands inside ``http.client``'s chunked
    reader, and after ``NeiraClient.cancel()`` the same stream can still be
    read to the server's final ``done`` event (``drain``).

    Closing the connection also cancels the generation on the server; an
    explicit ``NeiraClient.cancel(request_id)`` does it without waiting for the
    server to notice the closed socket.
    """

    def __init__(
        self,
        conn: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
        request_id: str,
    ) -> None:
        self._conn = conn
        self._response = response
        self.request_id = request_id
        self.closed = False
        self.finished = False
        self._events: queue.Queue[GenerateEvent | NeiraError | None] = queue.Queue()
        self._reader = threading.Thread(
            target=self._read, name=f"neira-stream-{request_id}", daemon=True
        )
        self._reader.start()

    def _read(self) -> None:
        """Reader thread: parse NDJSON (or SSE ``data:``) lines until ``done`` or EOF."""
        try:
            while True:
                line = self._response.readline()
                if not line:
                    break
                line = line.strip()
                if line.startswith(b"data:"):  # tolerate SSE framing
                    line = line[5:].strip()
                if not line:
                    continue
                try:
                    event = parse_event(json.loads(line))
                except ValueError:
                    raise NeiraHTTPError(502, f"bad line in the stream: {line[:200]!r}") from None
                self._events.put(event)
                if isinstance(event, DoneEvent):
                    break
        except NeiraError as exc:
            self._events.put(exc)
        except (OSError, http.client.HTTPException) as exc:
            if not self.closed:
                self._events.put(NeiraHTTPError(502, f"the connection to the server broke: {exc}"))
        finally:
            self._events.put(None)

    def next_event(self, timeout: float | None = None) -> GenerateEvent | None:
        """The next event; None at the end of the stream. Raises the stream's error, or
        ``TimeoutError`` when nothing arrives within ``timeout`` seconds."""
        if self.finished:
            return None
        try:
            item = self._events.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no answer within {timeout} s") from None
        if item is None:
            self.finished = True
            return None
        if isinstance(item, NeiraError):
            self.finished = True
            raise item
        return item

    def __iter__(self) -> Iterator[GenerateEvent]:
        while (event := self.next_event()) is not None:
            yield event

    def drain(self, timeout: float) -> DoneEvent | None:
        """After a cancel: read what is left, up to the server's final ``done`` event.

        Gives up (None) when nothing arrives for ``timeout`` seconds or the stream breaks.
        """
        try:
            while (event := self.next_event(timeout)) is not None:
                if isinstance(event, DoneEvent):
                    return event
        except (NeiraError, TimeoutError):
            return None
        return None

    def close(self) -> None:
        """Hang up (the server cancels a generation whose client went away)."""
        if self.closed:
            return
        self.closed = True
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the reader thread up
        self._reader.join(timeout=2.0)
        try:
            self._response.close()
        finally:
            self._conn.close()

    def __enter__(self) -> GenerationStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _error_message(body: bytes, fallback: str) -> tuple[str, str | None]:
    """Read the API's JSON error shape ``{"message": ..., "reason": ...}``."""
    try:
        obj = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return (text[:500] or fallback), None
    if isinstance(obj, dict):
        message = obj.get("message") or obj.get("reason") or fallback
        reason = obj.get("reason")
        return str(message), (str(reason) if reason else None)
    return fallback, None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None


class NeiraClient:
    """Talks to ``{base_url}neira/api/`` of one Jupyter server."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        read_timeout: float | None = 600.0,
        source: str = "",
    ) -> None:
        if not base_url.endswith("/"):
            base_url += "/"
        if not base_url.rstrip("/").endswith(API_PATH.rstrip("/")):
            base_url += API_PATH
        self.base_url = base_url
        self.token = token or None
        self.timeout = timeout
        self.read_timeout = read_timeout
        self.source = source or "given URL"
        parts = urlsplit(base_url)
        self._scheme = parts.scheme
        self._netloc = parts.netloc
        self._path = parts.path
        if self._scheme not in {"http", "https", "http+unix"}:
            raise ServerNotFound(f"unsupported URL scheme in {base_url!r}. {HOW_TO_CONNECT}")

    def __repr__(self) -> str:
        return f"NeiraClient({self.base_url!r}, source={self.source!r})"

    # ----------------------------------------------------------------- discovery

    @classmethod
    def discover(
        cls,
        environ: Mapping[str, str] | None = None,
        runtime_dir: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> NeiraClient:
        """Find the server: ``NEIRA_URL``/``NEIRA_TOKEN``, else ``JPY_PARENT_PID``'s file."""
        env = os.environ if environ is None else environ
        url = env.get("NEIRA_URL", "").strip()
        if url:
            return cls(url, env.get("NEIRA_TOKEN") or None, source="NEIRA_URL", **kwargs)
        pid = env.get("JPY_PARENT_PID", "").strip()
        if not pid:
            raise ServerNotFound(
                "No neira server found: this kernel was not started by a Jupyter server "
                f"(JPY_PARENT_PID is not set) and NEIRA_URL is not set. {HOW_TO_CONNECT}"
            )
        if runtime_dir is None:
            from jupyter_core.paths import jupyter_runtime_dir

            runtime_dir = jupyter_runtime_dir()
        info_file = Path(runtime_dir) / f"jpserver-{pid}.json"
        try:
            info = json.loads(info_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ServerNotFound(
                f"No neira server found: the process that started this kernel (pid {pid}) "
                f"has no Jupyter server file {info_file}. {HOW_TO_CONNECT}"
            ) from None
        except (OSError, ValueError) as exc:
            raise ServerNotFound(f"Cannot read {info_file}: {exc}. {HOW_TO_CONNECT}") from None
        return cls(
            server_url_from_info(info),
            env.get("NEIRA_TOKEN") or info.get("token") or None,
            source=str(info_file),
            **kwargs,
        )

    # ----------------------------------------------------------------- plumbing

    def _connection(self, timeout: float | None) -> http.client.HTTPConnection:
        if self._scheme == "http+unix":
            return _UnixHTTPConnection(unquote(self._netloc), timeout)
        if self._scheme == "https":
            return http.client.HTTPSConnection(self._netloc, timeout=timeout)
        return http.client.HTTPConnection(self._netloc, timeout=timeout)

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        if extra:
            headers.update(extra)
        return headers

    def _open(
        self,
        method: str,
        endpoint: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send one request; raise a typed error unless the status is 2xx."""
        path = self._path + endpoint
        if query:
            path += "?" + urlencode(query)
        conn = self._connection(self.timeout)
        try:
            conn.connect()
        except OSError as exc:
            conn.close()
            raise ServerNotFound(
                f"No neira server answers at {self.base_url} (from {self.source}): {exc}. "
                f"{HOW_TO_CONNECT}"
            ) from None
        except BaseException:
            conn.close()
            raise
        try:
            conn.request(method, path, body=body, headers=self._headers(headers))
            if conn.sock is not None:
                conn.sock.settimeout(read_timeout)
            response = conn.getresponse()
        except TimeoutError:
            conn.close()
            raise NeiraHTTPError(
                0, f"The server at {self.base_url} did not answer within {read_timeout} s."
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise NeiraHTTPError(0, f"The request to {self.base_url} failed: {exc}") from None
        except BaseException:
            conn.close()
            raise
        if response.status >= 400:
            try:
                data = response.read()
            finally:
                conn.close()
            retry_after = response.getheader("Retry-After")
            self._raise_for_status(endpoint, response.status, retry_after, data)
        return conn, response

    def _request_json(
        self,
        method: str,
        endpoint: str,
        payload: Any = None,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> Any:
        hdrs = dict(headers or {})
        if payload is not None:
            body = json.dumps(payload).encode("utf-8")
            hdrs.setdefault("Content-Type", "application/json")
        conn, response = self._open(
            method, endpoint, body, hdrs, query, read_timeout or self.read_timeout
        )
        try:
            data = response.read()
        finally:
            conn.close()
        if not data:
            return None
        try:
            return json.loads(data)
        except ValueError as exc:
            raise NeiraHTTPError(502, f"the server's answer is not JSON: {exc}") from None

    def _raise_for_status(
        self, endpoint: str, status: int, retry_after: str | None, body: bytes
    ) -> None:
        message, reason = _error_message(body, f"HTTP {status}")
        if status == 429:
            wait = _retry_after(retry_after)
            hint = f"try again in {wait:g} s" if wait is not None else "try again later"
            raise QueueFullError(f"The neira queue is full ({message}); {hint}.", wait)
        if status == 503:
            loading = self._loading_models() if endpoint != "status" else []
            if loading:
                raise ModelLoading(describe_loading(loading), loading)
            raise DegradedError(f"No model can answer right now (degraded mode): {message}", reason)
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

    def _loading_models(self) -> list[dict[str, Any]]:
        try:
            status = self.status()
        except NeiraError:
            return []
        models = status.get("models") or []
        return [m for m in models if isinstance(m, dict) and m.get("state") == "loading"]

    # ----------------------------------------------------------------- API

    def status(self) -> dict[str, Any]:
        """``GET api/status``: models, route, queue, memory."""
        result = self._request_json("GET", "status", read_timeout=self.timeout)
        if not isinstance(result, dict):
            raise NeiraHTTPError(502, "the status answer is not a JSON object")
        return result

    def generate(self, request: GenerateRequest) -> GenerationStream:
        """``POST api/generate`` with ``stream: true``; iterate the result for events."""
        request.stream = True
        body = json.dumps(request.to_json()).encode("utf-8")
        conn, response = self._open(
            "POST",
            "generate",
            body,
            {"Content-Type": "application/json", "Accept": "application/x-ndjson"},
            read_timeout=self.read_timeout,
        )
        return GenerationStream(conn, response, request.request_id)

    def generate_text(self, request: GenerateRequest) -> DoneEvent:
        """``POST api/generate`` with ``stream: false``: the whole answer at once."""
        request.stream = False
        result = self._request_json("POST", "generate", request.to_json())
        if not isinstance(result, dict):
            raise NeiraHTTPError(502, "the generate answer is not a JSON object")
        if result.get("type") == "error":
            parse_event(result)
        return DoneEvent.from_json(result)

    def cancel(self, request_id: str) -> bool:
        """``DELETE api/requests/{id}``: True if cancelled, False if the server has no such job."""
        try:
            self._request_json("DELETE", f"requests/{quote(request_id, safe='')}")
        except NeiraHTTPError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def transcribe(
        self,
        audio: str | os.PathLike[str] | bytes,
        *,
        language: str = "auto",
        correct: bool = True,
        vad: bool = False,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        """``POST api/transcribe`` with the audio as the raw body (a path or bytes)."""
        if isinstance(audio, bytes):
            data = audio
            ctype = content_type or "application/octet-stream"
        else:
            path = Path(audio).expanduser()
            data = path.read_bytes()
            ctype = content_type or AUDIO_TYPES.get(path.suffix.lower(), "application/octet-stream")
        query = {"language": language, "correct": "true" if correct else "false"}
        if vad:
            query["vad"] = "true"
        result = self._request_json(
            "POST", "transcribe", body=data, headers={"Content-Type": ctype}, query=query
        )
        if not isinstance(result, dict):
            raise NeiraHTTPError(502, "the transcribe answer is not a JSON object")
        return result

    def correct(self, text: str, language: str = "auto") -> dict[str, Any]:
        """``POST api/correct``: the corrected text and what changed."""
        result = self._request_json("POST", "correct", {"text": text, "language": language})
        if not isinstance(result, dict):
            raise NeiraHTTPError(502, "the correct answer is not a JSON object")
        return result


def server_url_from_info(info: Mapping[str, Any]) -> str:
    """The URL a local kernel should use for a server described by ``jpserver-<pid>.json``.

    A server listening on all interfaces advertises the machine's host name;
    a kernel on the same machine connects through the loopback address instead.
    """
    url = str(info.get("url") or "")
    sock = str(info.get("sock") or "")
    base_url = str(info.get("base_url") or "/")
    if sock:
        return f"http+unix://{quote(sock, safe='')}{base_url}"
    if not url:
        raise ServerNotFound(f"the Jupyter server file has no url. {HOW_TO_CONNECT}")
    host = str(info.get("hostname") or "")
    if host in _WILDCARD_HOSTS and info.get("port"):
        parts = urlsplit(url)
        loopback = "[::1]" if host in {"::", "[::]"} else "127.0.0.1"
        url = parts._replace(netloc=f"{loopback}:{info['port']}").geturl()
    return url


def describe_loading(models: list[dict[str, Any]]) -> str:
    """A user-facing line about models that are still loading, with progress when known."""
    parts = []
    for model in models:
        name = model.get("name", "?")
        progress = model.get("progress")
        if isinstance(progress, (int, float)) and not isinstance(progress, bool):
            pct = progress * 100 if progress <= 1 else progress
            parts.append(f"{name} ({pct:.0f}%)")
        else:
            parts.append(f"{name}")
    return (
        f"The model is still loading: {', '.join(parts)}. Try again in a moment "
        "(`%neira status` shows the progress)."
    )
