"""Finding the neira server from inside a kernel, with no configuration in the common case.

1. ``NEIRA_URL`` (and ``NEIRA_TOKEN``) in the environment win. ``NEIRA_URL`` is
   the Jupyter server's URL including its base URL (``http://host:8888/``);
   a URL that already ends in ``neira/api/`` is taken as is.
2. Otherwise ``JPY_PARENT_PID`` (set by jupyter_client when a server launches a
   kernel) names the server's runtime file ``jpserver-<pid>.json`` in
   ``jupyter_core.paths.jupyter_runtime_dir()``, which holds its ``url`` and
   ``token``. The file is read directly: the kernel never imports jupyter_server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from .errors import HOW_TO_CONNECT, ServerNotFound

_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "[::]"})


@dataclass(frozen=True)
class ServerInfo:
    """Where the server is, its token, and where that was learned."""

    url: str
    token: str | None
    source: str


def find_server(
    environ: Mapping[str, str] | None = None,
    runtime_dir: str | os.PathLike[str] | None = None,
) -> ServerInfo:
    """``NEIRA_URL``/``NEIRA_TOKEN``, else ``JPY_PARENT_PID``'s runtime file."""
    env = os.environ if environ is None else environ
    url = env.get("NEIRA_URL", "").strip()
    if url:
        return ServerInfo(url, env.get("NEIRA_TOKEN") or None, "NEIRA_URL")
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
    token = env.get("NEIRA_TOKEN") or info.get("token") or None
    return ServerInfo(server_url_from_info(info), token, str(info_file))


def server_url_from_info(info: Mapping[str, Any]) -> str:
    """The URL a local kernel should use for a server described by ``jpserver-<pid>.json``.

    A server listening on all interfaces advertises the machine's host name;
    a kernel on the same machine connects through the loopback address instead.
    A server on a Unix socket gets an ``http+unix://<quoted path>/base/`` URL.
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
