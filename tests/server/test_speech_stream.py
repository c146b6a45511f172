"""``WS api/transcribe/stream`` end to end: a real server, the real demo Whisper, espeak-ng speech.

The PCM of espeak-ng clips goes over the socket in 100 ms binary frames,
paced a little faster than real time so partial decodes happen while audio
is still arriving; the pacing is input, nothing asserts on time.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from neira_jupyter.engine.speech import LocalAgreement, align_end, fold
from tests.conftest import Fetch, wait_ready
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.speech_streams import FRAME_BYTES, check_stream, pcm_of, stream


async def test_partials_then_corrected_final(
    jp_fetch: Fetch, jp_ws_fetch: Any, audio_dir: Path
) -> None:
    await wait_ready(jp_fetch)
    sentences = SENTENCES["en"][:2]
    pcm = pcm_of([speak(s, "en", audio_dir) for s in sentences])
    ws = await jp_ws_fetch("neira", "api", "transcribe", "stream")
    messages = await stream(ws, pcm, {"language": "en", "correct": True})
    final = check_stream(messages, " ".join(sentences))
    assert final["correction"] is not None
    assert final["correction"]["raw"] == final["raw"]
    assert final["text"] == final["correction"]["corrected"]
    assert len(final["segments"]) == 2  # the pause between the sentences cut a segment
    assert final["duration"] == pytest.approx(len(pcm) / 32000, abs=0.05)

    # the same socket serves a second stream, here without correction
    again = await stream(ws, pcm_of([speak(sentences[1], "en", audio_dir)]), {"correct": False})
    final = check_stream(again, sentences[1])
    assert final["correction"] is None and final["text"] == final["raw"]
    ws.close()


async def test_two_streams_at_once(jp_fetch: Fetch, jp_ws_fetch: Any, audio_dir: Path) -> None:
    await wait_ready(jp_fetch)
    first, second = SENTENCES["en"][2], SENTENCES["en"][3]
    sockets = [await jp_ws_fetch("neira", "api", "transcribe", "stream") for _ in range(2)]
    results = await asyncio.gather(
        stream(sockets[0], pcm_of([speak(first, "en", audio_dir)]), {"correct": False}),
        stream(sockets[1], pcm_of([speak(second, "en", audio_dir)]), {"correct": False}),
    )
    check_stream(results[0], first)
    check_stream(results[1], second)
    for ws in sockets:
        ws.close()


async def test_protocol_errors_are_reported_and_socket_keeps_serving(
    jp_fetch: Fetch, jp_ws_fetch: Any, audio_dir: Path
) -> None:
    await wait_ready(jp_fetch)
    ws = await jp_ws_fetch("neira", "api", "transcribe", "stream")

    async def answer(message: str | bytes) -> dict[str, Any]:
        await ws.write_message(message, binary=isinstance(message, bytes))
        reply: dict[str, Any] = json.loads(await ws.read_message())
        return reply

    assert "start" in (await answer(b"\0\0"))["message"]  # audio before start
    assert (await answer("not json"))["status"] == 400
    assert "type" in (await answer(json.dumps({"type": "dance"})))["message"]
    assert "language" in (await answer(json.dumps({"type": "start", "language": "xx"})))["message"]
    assert "stop" in (await answer(json.dumps({"type": "stop"})))["message"]
    assert (await answer(json.dumps({"type": "start"})))["type"] == "started"
    assert "bytes" in (await answer(bytes(64 * 1024 + 2)))["message"]  # oversized frame
    assert (await answer(json.dumps({"type": "start"})))["status"] == 409
    await ws.write_message(json.dumps({"type": "cancel"}))
    # the oversized frame did not end the socket: a new stream works
    sentence = SENTENCES["en"][4]
    final = check_stream(
        await stream(ws, pcm_of([speak(sentence, "en", audio_dir)]), {"correct": False}), sentence
    )
    assert final["type"] == "final"
    ws.close()


@pytest.mark.parametrize("neira_config", [{"max_audio_seconds": 1.0}])
async def test_stream_longer_than_the_limit_is_refused(jp_fetch: Fetch, jp_ws_fetch: Any) -> None:
    await wait_ready(jp_fetch)
    ws = await jp_ws_fetch("neira", "api", "transcribe", "stream")
    await ws.write_message(json.dumps({"type": "start"}))
    assert json.loads(await ws.read_message())["max_seconds"] == 1.0
    for _ in range(12):  # 1.2 s of audio: the frames past the limit are ignored
        await ws.write_message(bytes(FRAME_BYTES), binary=True)
    reply = json.loads(await ws.read_message())
    assert reply["type"] == "error" and reply["status"] == 413 and "limit" in reply["message"]
    final = json.loads(await ws.read_message())  # the second of audio heard is finished
    assert final["type"] == "final" and final["duration"] == pytest.approx(1.0, abs=0.05)
    ws.close()


async def test_unauthenticated_socket_is_refused(
    jp_fetch: Fetch, jp_http_port: int, jp_base_url: str
) -> None:
    await wait_ready(jp_fetch)  # jp_fetch is what makes the test server listen
    url = f"ws://localhost:{jp_http_port}{jp_base_url}neira/api/transcribe/stream"
    with pytest.raises(HTTPClientError) as refused:
        await websocket_connect(HTTPRequest(url, request_timeout=30))
    assert refused.value.code in {302, 403}  # jupyter_server sends browsers to the login page


def test_local_agreement_confirms_only_what_two_hypotheses_share() -> None:
    agreement = LocalAgreement()
    agreement.update(["The", "quick", "run."])
    assert agreement.confirmed == []
    agreement.update(["The", "quick", "round", "fox."])
    assert agreement.confirmed == ["The", "quick"]
    assert agreement.tentative == ["round", "fox."]
    agreement.update(["the", "quick,", "brown", "fox", "jumps"])  # case and punctuation folded
    assert agreement.confirmed == ["The", "quick"]
    agreement.update(["The", "quick", "brown", "fox", "jumps", "over"])
    assert agreement.confirmed == ["The", "quick", "brown", "fox", "jumps"]
    # the last word may be cut by the end of the audio: never confirmed
    agreement.update(["The", "quick", "brown", "fox", "jumps", "over"])
    assert agreement.tentative == ["over"]
    # a later hypothesis that rewrites a confirmed word does not un-confirm it
    agreement.update(["A", "quick", "brown", "fox", "jumps", "over", "the"])
    assert agreement.confirmed[:5] == ["The", "quick", "brown", "fox", "jumps"]
    final = ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog."]
    assert agreement.close(final) == final
    assert agreement.confirmed == [] and agreement.tentative == []


def test_align_end_and_fold() -> None:
    assert fold("Fox,") == "fox"
    assert align_end(["a", "b"], ["a", "b", "c"]) == 2
    assert align_end(["a", "b", "c"], ["a", "x", "c", "d"]) == 3
    assert align_end([], ["a"]) == 0
    assert align_end(["a", "b"], ["c"]) == 1
