"""The live transcription socket (``WS api/transcribe/stream``) as the tests drive it.

``pcm_of`` turns clips into the PCM a microphone would send, ``stream``
sends it in 100 ms frames and reads every message up to the final, and
``check_stream`` checks what any stream must hold (partials first, confirmed
text never taken back, a final close to what was said).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import wave
from pathlib import Path
from typing import Any

import jiwer

from tests.support.helpers import words

FRAME_BYTES = 3200  # 100 ms of 16 kHz s16le


def pcm_of(paths: list[Path], pause_s: float = 1.0) -> bytes:
    """The clips' samples as s16le, each followed by ``pause_s`` of silence."""
    out = bytearray()
    for path in paths:
        with wave.open(str(path)) as clip:
            assert clip.getframerate() == 16000 and clip.getnchannels() == 1
            out += clip.readframes(clip.getnframes())
        out += bytes(int(pause_s * 16000) * 2)
    return bytes(out)


async def stream(
    ws: Any,
    pcm: bytes,
    start: dict[str, Any],
    pace_s: float = 0.05,
    live: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Send ``start``, the PCM in frames, then ``stop``; return every message up to the final.

    ``live``, when given, receives the messages that arrived before ``stop`` was sent.
    """
    messages: list[dict[str, Any]] = []

    async def read() -> None:
        while True:
            raw = await ws.read_message()
            assert raw is not None, f"socket closed early after {messages}"
            message = json.loads(raw)
            messages.append(message)
            if message["type"] in {"final", "error"}:
                return

    await ws.write_message(json.dumps({"type": "start", **start}))
    reader = asyncio.ensure_future(read())
    for offset in range(0, len(pcm), FRAME_BYTES):
        await ws.write_message(pcm[offset : offset + FRAME_BYTES], binary=True)
        await asyncio.sleep(pace_s)
    if live is not None:
        live.extend(messages)
    await ws.write_message(json.dumps({"type": "stop"}))
    await asyncio.wait_for(reader, 240)
    return messages


def check_stream(messages: list[dict[str, Any]], reference: str) -> dict[str, Any]:
    """Partials before the final, confirmed text never retracted, final close to the text."""
    assert messages[0]["type"] == "started", messages[0]
    kinds = [m["type"] for m in messages]
    assert kinds[-1] == "final", messages[-1]
    partials = [m for m in messages if m["type"] == "partial"]
    assert partials, "no partial arrived before the final"
    assert any(p["confirmed"] or p["tentative"] for p in partials)
    for before, after in itertools.pairwise(partials):
        if before["segment"] == after["segment"]:  # within a segment nothing is taken back
            assert after["confirmed"].startswith(before["confirmed"]), (before, after)
    final = messages[-1]
    committed = [p["confirmed"] for p in partials if not p["tentative"]]
    assert final["raw"].startswith(committed[-1])
    assert jiwer.wer(words(reference), words(final["raw"])) < 0.35, final["raw"]
    assert jiwer.wer(words(reference), words(final["text"])) < 0.35, final["text"]
    return final
