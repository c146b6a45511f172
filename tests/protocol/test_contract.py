"""The wire contract against a real server: the kernel client, the protocol and the TypeScript.

A real jupyter server with the demo models answers; the kernel client (its
own parsing forbids unknown fields) makes every HTTP call, and every raw
answer and socket message is also validated against the protocol models
and against the checked-in JSON Schema the TypeScript types are generated
from, so the status bar's fields (``memory.level``, ``memory.free_mib``)
are checked against what the server really sends.
"""

from __future__ import annotations

import asyncio
import json
import wave
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import TypeAdapter
from tornado.websocket import WebSocketClientConnection

from neira_jupyter.kernel.client import GenerateRequest, NeiraClient, StartEvent, TokenEvent
from neira_jupyter.protocol import (
    DoneEvent,
    GenerateEvent,
    StatusDocument,
    StreamMessage,
    openapi,
)
from tests.conftest import Fetch, wait_ready
from tests.support.audio_fixtures import SENTENCES, speak

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "neira_jupyter/protocol/schema.json").read_text()
)
STREAM_MESSAGE: TypeAdapter[Any] = TypeAdapter(StreamMessage)
GENERATE_EVENT: TypeAdapter[Any] = TypeAdapter(GenerateEvent)


def check_schema(definition: str, document: Any) -> None:
    """``document`` is valid as ``$defs[definition]`` of schema.json (what the .ts says)."""
    schema = {**SCHEMA, "$ref": f"#/$defs/{definition}"}
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(document)]
    assert errors == [], (definition, errors)


def client_for(port: int, base_url: str, auth: dict[str, str]) -> NeiraClient:
    token = auth["Authorization"].split(" ", 1)[1]
    return NeiraClient(f"http://localhost:{port}{base_url}", token, source="test")


async def test_status_matches_protocol_and_status_bar(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> None:
    await wait_ready(jp_fetch)
    client = client_for(jp_http_port, jp_base_url, jp_auth_header)
    status = await asyncio.to_thread(client.status_document)
    while status.memory.updated is None:  # the first memory reading
        await asyncio.sleep(0.1)
        status = await asyncio.to_thread(client.status_document)
    raw = json.loads((await jp_fetch("neira", "api", "status", method="GET")).body)
    StatusDocument.model_validate(raw)
    check_schema("StatusDocument", raw)
    # what the status bar shows: the pressure level and the free memory
    assert raw["memory"]["level"] in ("ok", "high", "critical")
    assert isinstance(raw["memory"]["free_mib"], float) and raw["memory"]["free_mib"] > 0
    assert {m["role"] for m in raw["models"]} >= {"primary", "speech"}
    client.close()


async def test_generate_stream_and_whole_match_protocol(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> None:
    await wait_ready(jp_fetch)
    client = client_for(jp_http_port, jp_base_url, jp_auth_header)

    def stream() -> list[Any]:
        request = GenerateRequest(prompt="Name a colour.", max_tokens=8, temperature=0.0)
        with client.generate(request) as events:
            return [request.request_id, *events]

    request_id, *events = await asyncio.to_thread(stream)
    assert isinstance(events[0], StartEvent) and events[0].request_id == request_id
    assert all(isinstance(e, TokenEvent) for e in events[1:-1])
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.request_id == request_id
    for event in events:
        check_schema(type(event).__name__, event.to_dict())
    whole = await asyncio.to_thread(
        client.generate_text, GenerateRequest(prompt="Hi", max_tokens=2, request_id="contract-1")
    )
    assert whole.request_id == "contract-1" and whole.usage.total_tokens > 0
    client.close()


async def test_speech_routes_match_protocol(
    jp_fetch: Fetch,
    jp_ws_fetch: Any,
    jp_http_port: int,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
    audio_dir: Path,
) -> None:
    await wait_ready(jp_fetch)
    clip = speak(SENTENCES["en"][1], "en", audio_dir)
    client = client_for(jp_http_port, jp_base_url, jp_auth_header)
    transcript = await asyncio.to_thread(client.transcribe, clip, language="en")
    check_schema("TranscribeResult", transcript)
    assert transcript["correction"] is not None
    correction = await asyncio.to_thread(client.correct, transcript["raw"], "en")
    check_schema("CorrectResult", correction)
    client.close()

    with wave.open(str(clip)) as audio:
        pcm = audio.readframes(audio.getnframes()) + bytes(32000)
    ws: WebSocketClientConnection = await jp_ws_fetch("neira", "api", "transcribe", "stream")
    await ws.write_message(json.dumps({"type": "start", "language": "en", "correct": False}))
    for offset in range(0, len(pcm), 3200):
        await ws.write_message(pcm[offset : offset + 3200], binary=True)
    await ws.write_message(json.dumps({"type": "stop"}))
    kinds: list[str] = []
    while not kinds or kinds[-1] not in ("final", "error"):
        message = await ws.read_message()
        assert isinstance(message, str)
        parsed = STREAM_MESSAGE.validate_json(message)
        check_schema(type(parsed).__name__, json.loads(message))
        kinds.append(parsed.type)
    assert kinds[0] == "started" and kinds[-1] == "final"
    ws.close()


async def test_generate_socket_and_openapi_match_protocol(
    jp_fetch: Fetch, jp_ws_fetch: Any
) -> None:
    await wait_ready(jp_fetch)
    ws: WebSocketClientConnection = await jp_ws_fetch("neira", "api", "generate", "ws")
    await ws.write_message(json.dumps({"type": "generate", "prompt": "Hi", "max_tokens": 3}))
    kinds: list[str] = []
    while not kinds or kinds[-1] not in ("done", "error"):
        message = await ws.read_message()
        assert isinstance(message, str)
        kinds.append(GENERATE_EVENT.validate_json(message).type)
    assert kinds[0] == "start" and kinds[-1] == "done"
    ws.close()
    served = json.loads((await jp_fetch("neira", "api", "openapi.json", method="GET")).body)
    assert served["paths"] == openapi()["paths"]
    assert served["components"] == openapi()["components"]
