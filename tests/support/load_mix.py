"""A mixed load on a live server: many clients, each sending every kind of request.

Shared by the load test in the suite (``tests/server/test_load.py``, small) and the
load benchmark (``benchmarks/bench_load.py``, 20 clients x 10 requests and a
500-request memory check). Each client sends, in turn: a streamed generation,
a whole generation, a correction, a transcription, a generation it cancels
after the first token, and a generation it abandons mid-stream. Every request
ends in an ``Outcome``: its status (200/204, or 429 with ``Retry-After``) and
its latency; anything else is recorded as it came, so a test can show that
every request was accounted for.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass

import httpx

KINDS = ("stream", "whole", "correct", "transcribe", "cancel", "disconnect")
PROMPT = "Name a colour."


@dataclass
class Outcome:
    """What one request got back."""

    kind: str
    status: int
    retry_after: str | None
    seconds: float
    detail: str = ""

    @property
    def accepted(self) -> bool:
        """200/204, or a 429 that says when to come back."""
        return self.status in {200, 204} or (self.status == 429 and bool(self.retry_after))


class LoadClient:
    """One user's session against ``{base}neira/api/``."""

    def __init__(self, base_url: str, token: str, wav: bytes, max_tokens: int = 8) -> None:
        self.api = base_url.rstrip("/") + "/neira/api/"
        self.headers = {"Authorization": f"token {token}"}
        self.wav = wav
        self.max_tokens = max_tokens

    def _generate_body(self, stream: bool, request_id: str | None = None) -> dict[str, object]:
        body: dict[str, object] = {
            "prompt": PROMPT,
            "max_tokens": self.max_tokens,
            "temperature": 0,
            "stream": stream,
        }
        if request_id is not None:
            body["request_id"] = request_id
        return body

    async def send(self, http: httpx.AsyncClient, kind: str) -> Outcome:
        started = time.perf_counter()
        try:
            status, retry_after, detail = await getattr(self, f"_{kind}")(http)
        except httpx.HTTPError as exc:
            status, retry_after, detail = 0, None, f"{type(exc).__name__}: {exc}"
        return Outcome(kind, status, retry_after, time.perf_counter() - started, detail)

    async def _stream(self, http: httpx.AsyncClient) -> tuple[int, str | None, str]:
        body = self._generate_body(True)
        async with http.stream("POST", self.api + "generate", json=body) as response:
            events = [json.loads(line) async for line in response.aiter_lines() if line.strip()]
            if response.status_code != 200:
                return response.status_code, response.headers.get("Retry-After"), ""
        last = events[-1]["type"] if events else "nothing"
        return (200 if last == "done" else 599), None, f"last event: {last}"

    async def _whole(self, http: httpx.AsyncClient) -> tuple[int, str | None, str]:
        response = await http.post(self.api + "generate", json=self._generate_body(False))
        return response.status_code, response.headers.get("Retry-After"), ""

    async def _correct(self, http: httpx.AsyncClient) -> tuple[int, str | None, str]:
        body = {"text": "hello how are you today", "language": "en"}
        response = await http.post(self.api + "correct", json=body)
        return response.status_code, response.headers.get("Retry-After"), ""

    async def _transcribe(self, http: httpx.AsyncClient) -> tuple[int, str | None, str]:
        response = await http.post(
            self.api + "transcribe",
            content=self.wav,
            params={"correct": "false"},
            headers={"Content-Type": "audio/wav"},
        )
        return response.status_code, response.headers.get("Retry-After"), ""

    async def _cancel(self, http: httpx.AsyncClient) -> tuple[int, str | None, str]:
        request_id = f"load-{uuid.uuid4().hex[:12]}"
        body = {**self._generate_body(True, request_id), "max_tokens": 200}
        async with http.stream("POST", self.api + "generate", json=body) as response:
            if response.status_code != 200:
                await response.aread()
                return response.status_code, response.headers.get("Retry-After"), ""
            last = "nothing"
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                last = json.loads(line)["type"]
                if last == "token":
                    cancel = await http.delete(self.api + f"requests/{request_id}")
                    if cancel.status_code not in {204, 404}:  # 404: it had just finished
                        return cancel.status_code, None, "cancel refused"
        return (200 if last == "done" else 599), None, f"last event: {last}"

    async def _disconnect(self, http: httpx.AsyncClient) -> tuple[int, str | None, str]:
        body = {**self._generate_body(True), "max_tokens": 200}
        async with http.stream("POST", self.api + "generate", json=body) as response:
            if response.status_code != 200:
                await response.aread()
                return response.status_code, response.headers.get("Retry-After"), ""
            async for line in response.aiter_lines():
                if line.strip() and json.loads(line)["type"] == "token":
                    break  # leaving the block closes the connection mid-stream
        return 200, None, "left mid-stream"

    async def run(self, requests: int, offset: int = 0) -> list[Outcome]:
        """Send ``requests`` requests one after another, cycling through ``KINDS``."""
        async with httpx.AsyncClient(headers=self.headers, timeout=300) as http:
            return [
                await self.send(http, KINDS[(offset + i) % len(KINDS)]) for i in range(requests)
            ]


async def run_load(
    base_url: str, token: str, wav: bytes, clients: int, requests: int, max_tokens: int = 8
) -> list[Outcome]:
    """``clients`` concurrent clients x ``requests`` requests each; every outcome, in order."""
    sessions = [LoadClient(base_url, token, wav, max_tokens) for _ in range(clients)]
    results = await asyncio.gather(*(s.run(requests, offset=i) for i, s in enumerate(sessions)))
    return [outcome for client in results for outcome in client]
