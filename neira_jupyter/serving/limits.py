"""``RequestLimits``: the size limits a server puts on incoming requests.

The values are ``NeiraApp``'s traits; the serving modules check prompts and
``max_tokens`` against them, the handlers bodies, audio and sockets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestLimits:
    """Size limits of incoming requests (their values are ``NeiraApp``'s traits)."""

    max_body_bytes: int
    max_audio_bytes: int
    max_audio_seconds: float
    max_prompt_chars: int
    max_tokens: int
    socket_ping_interval: float
    socket_idle_timeout: float
    max_sockets_per_user: int
