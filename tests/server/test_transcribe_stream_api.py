"""``POST api/transcribe`` with ``stream=true``, on a real server with the demo models.

The answer streams what was heard (``transcribed``), each sentence's
correction as soon as it is done (``corrected``, as a streamed
``api/correct`` sends them), then ``done``: the unstreamed answer's fields.
A client that leaves mid-stream cancels the correction running for it, and
the sentences after it are never corrected.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from neira_jupyter.engine.models import DEMO_LLM_NAME
from neira_jupyter.engine.speech import sentence_pieces
from tests.conftest import Fetch, get_status, wait_ready
from tests.server.test_metrics import moved, scrape
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.helpers import post_audio, post_json, wait_for, words
from tests.support.neira_http import server_url

SPEECH = " ".join(SENTENCES["en"][1:4])  # three sentences of six words or more


@contextlib.asynccontextmanager
async def streamed_transcription(
    jp_http_port: int, jp_base_url: str, token: str, wav: Path
) -> AsyncIterator[httpx.Response]:
    """``POST api/transcribe?stream=true`` of ``wav`` (in English), open for reading."""
    url = server_url(jp_http_port, jp_base_url, "neira", "api", "transcribe")
    headers = {"Authorization": f"token {token}", "Content-Type": "audio/wav"}
    params = {"language": "en", "stream": "true"}
    async with httpx.AsyncClient(timeout=300) as http, http.stream(
        "POST", url, content=wav.read_bytes(), headers=headers, params=params
    ) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/x-ndjson")
        yield response


async def transcribe_stream(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, token: str, wav: Path
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Stream a transcription as NDJSON: its events, and the server's queue status when
    the first ``corrected`` event arrived (None without one)."""
    events: list[dict[str, Any]] = []
    queue_then: dict[str, Any] | None = None
    async with streamed_transcription(jp_http_port, jp_base_url, token, wav) as response:
        async for line in response.aiter_lines():
            events.append(json.loads(line))
            if events[-1]["type"] == "corrected" and queue_then is None:
                queue_then = (await get_status(jp_fetch))["queue"]
    return events, queue_then


def without_timings(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (an answer or a ``done`` event) without its timings and ``type``."""
    kept = {k: v for k, v in document.items() if k not in ("timings", "type")}
    if kept.get("correction"):
        kept["correction"] = {k: v for k, v in kept["correction"].items() if k != "timings"}
    return kept


async def test_transcribe_streams_heard_then_each_sentence_then_done(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, token: str, audio_dir: Path
) -> None:
    await wait_ready(jp_fetch)
    wav = speak(SPEECH, "en", audio_dir)
    events, queue_then = await transcribe_stream(jp_fetch, jp_http_port, jp_base_url, token, wav)
    heard, *pieces, done = events
    assert heard["type"] == "transcribed" and done["type"] == "done", events
    assert [e["type"] for e in pieces] == ["corrected"] * len(pieces) and len(pieces) >= 2, events
    assert heard["language"] == "en" and heard["segments"] and heard["duration"] > 0
    assert heard["timings"]["transcribe_ms"] > 0 and heard["timings"]["correct_ms"] is None
    # the first sentence's correction reached the client while the next one was corrected
    assert queue_then is not None and queue_then["running"] + queue_then["depth"] >= 1
    assert [(e["first"], e["end"]) for e in pieces] == [(i, i + 1) for i in range(len(pieces))]
    assert " ".join(e["raw"] for e in pieces) == " ".join(heard["raw"].split())
    # the final is the unstreamed answer's shape, with the sentences' corrections joined
    assert done["raw"] == heard["raw"] and done["segments"] == heard["segments"]
    assert done["text"] == " ".join(e["text"] for e in pieces)
    correction = done["correction"]
    assert correction["corrected"] == done["text"] and correction["model"] == DEMO_LLM_NAME
    assert correction["degraded"] is any(e["degraded"] for e in pieces)
    assert words(done["text"]).split() == words(heard["raw"]).split()
    # the same pieces corrected by a streamed api/correct give the same final text
    body = {"text": heard["raw"], "language": "en", "stream": True}
    response = await post_json(jp_fetch, "correct", body, request_timeout=300)
    corrected = json.loads(response.body.decode().splitlines()[-1])
    assert corrected["type"] == "done" and corrected["corrected"] == done["text"]


async def test_transcribe_streams_as_sse(jp_fetch: Fetch, audio_dir: Path) -> None:
    await wait_ready(jp_fetch)
    wav = speak(SENTENCES["en"][1], "en", audio_dir)
    params = {"language": "en", "stream": "true", "correct": "false"}
    response = await post_audio(jp_fetch, wav, params, {"Accept": "text/event-stream"})
    assert response.headers["Content-Type"].startswith("text/event-stream")
    blocks = [b for b in response.body.decode().split("\n\n") if b]
    assert all(b.startswith("data: ") for b in blocks), blocks
    heard, done = (json.loads(b.removeprefix("data: ")) for b in blocks)
    assert heard["type"] == "transcribed" and done["type"] == "done"
    assert done["text"] == done["raw"] == heard["raw"] and done["correction"] is None


async def test_streamed_final_equals_the_unstreamed_answer(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, token: str, audio_dir: Path
) -> None:
    await wait_ready(jp_fetch)
    wav = speak(SENTENCES["en"][1], "en", audio_dir)  # one sentence: one piece
    unstreamed = json.loads((await post_audio(jp_fetch, wav, {"language": "en"})).body)
    events, _ = await transcribe_stream(jp_fetch, jp_http_port, jp_base_url, token, wav)
    assert [e["type"] for e in events] == ["transcribed", "corrected", "done"], events
    assert unstreamed["correction"]["degraded"] is False, unstreamed
    assert without_timings(events[-1]) == without_timings(unstreamed)
    assert events[-1]["timings"]["correct_ms"] > 0


async def test_leaving_mid_stream_cancels_the_correction(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, token: str, audio_dir: Path
) -> None:
    await wait_ready(jp_fetch)
    wav = speak(SPEECH, "en", audio_dir)
    before, _ = await scrape(jp_fetch)
    async with streamed_transcription(jp_http_port, jp_base_url, token, wav) as response:
        lines = response.aiter_lines()  # kept: a lost iterator closes the response
        heard = json.loads(await anext(lines))
        assert heard["type"] == "transcribed"
        # the first sentence's correction runs; the client leaves
        await wait_for(jp_fetch, lambda s: s["queue"]["running"] == 1)
    pieces = len(sentence_pieces(heard["raw"]))
    assert pieces >= 2, heard["raw"]
    status = await wait_for(
        jp_fetch, lambda s: s["queue"]["running"] == 0 and s["queue"]["depth"] == 0
    )
    assert status["queue"]["running_ids"] == []
    after, _ = await scrape(jp_fetch)
    # the running correction's generation was cancelled, and no later sentence corrected
    assert moved(before, after, "neira_generations_total", finish_reason="cancelled") >= 1
    assert moved(before, after, "neira_corrections_total") < pieces
