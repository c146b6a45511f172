"""Segments corrected while the user speaks on ``WS api/transcribe/stream`` (``corrected``).

A real server, the real demo Whisper and Qwen 0.5B, espeak-ng sentences with
pauses between them. The tests wait for events (a ``corrected`` message, a
committed segment, a correction job on the LLM's lane) rather than for time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jiwer
import pytest

from neira_jupyter.engine.correct import CorrectionGuard
from neira_jupyter.engine.service import NeiraEngine
from neira_jupyter.server.base import ENGINE_KEY
from neira_jupyter.server.metrics import CORRECTIONS
from tests.conftest import Fetch, wait_ready
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.correction_eval import clip_path
from tests.support.helpers import words
from tests.support.speech_streams import FRAME_BYTES, check_stream, pcm_of

Message = dict[str, Any]
WAIT_S = 240.0


class Talk:
    """One client on the live socket: sends frames, keeps every message it is sent."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.messages: list[Message] = []
        self._arrived = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        while (raw := await self.ws.read_message()) is not None:
            self.messages.append(json.loads(raw))
            self._arrived.set()

    async def send(self, control: Message | None = None, pcm: bytes = b"") -> None:
        if control is not None:
            await self.ws.write_message(json.dumps(control))
        for offset in range(0, len(pcm), FRAME_BYTES):
            await self.ws.write_message(pcm[offset : offset + FRAME_BYTES], binary=True)
            await asyncio.sleep(0.05)

    async def wait(self, wanted: Callable[[Message], bool], after: int = 0) -> Message:
        """The first message from index ``after`` on that is ``wanted`` (waiting for it)."""

        async def found() -> Message:
            while True:
                for message in self.messages[after:]:
                    if wanted(message):
                        return message
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(found(), WAIT_S)

    def of(self, kind: str) -> list[Message]:
        return [m for m in self.messages if m["type"] == kind]

    def close(self) -> None:
        self.ws.close()
        self._reader.cancel()


def is_(kind: str) -> Callable[[Message], bool]:
    return lambda message: message["type"] == kind


def engine_of(server: Any) -> NeiraEngine:
    engine: NeiraEngine = server.web_app.settings[ENGINE_KEY]
    return engine


def corrections_counted() -> float:
    """Corrections the server observed so far (its ``neira_corrections`` counter)."""
    return sum(
        sample.value
        for metric in CORRECTIONS.collect()
        for sample in metric.samples
        if sample.name == "neira_corrections_total"
    )


async def llm_jobs(engine: NeiraEngine) -> int:
    """Jobs queued or running on the primary LLM's lane."""
    assert engine.generation.primary is not None
    lane = engine.scheduler.status()["lanes"].get(engine.generation.primary.name, {})
    return int(lane.get("queued", 0) + lane.get("running", 0))


async def until_llm_busy(engine: NeiraEngine) -> None:
    async def busy() -> None:
        while not await llm_jobs(engine):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(busy(), WAIT_S)


def check_corrections(talk: Talk, final: Message) -> list[Message]:
    """Every committed segment corrected once, in order; the final is their text."""
    corrected = talk.of("corrected")
    spans = [(m["first"], m["end"]) for m in corrected]
    assert spans and spans[0][0] == 0 and spans[-1][1] == len(final["segments"]), spans
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans)), spans
    assert final["raw"] == " ".join(m["raw"] for m in corrected)
    assert final["text"] == " ".join(m["text"] for m in corrected)
    assert final["correction"]["raw"] == final["raw"]
    assert final["correction"]["corrected"] == final["text"]
    assert corrected[-1]["covered_words"] == len(final["raw"].split())
    assert talk.messages.index(corrected[-1]) < talk.messages.index(final)
    return corrected


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_segments_are_corrected_while_the_user_speaks(
    jp_fetch: Fetch, jp_ws_fetch: Any, audio_dir: Path, lang: str
) -> None:
    await wait_ready(jp_fetch)
    sentences = SENTENCES[lang][:3]
    clips = [clip_path(lang, s, audio_dir) for s in sentences]  # Russian: festival's voice
    talk = Talk(await jp_ws_fetch("neira", "api", "transcribe", "stream"))
    await talk.send({"type": "start", "language": "auto", "correct": True}, pcm_of(clips[:2]))
    first = await talk.wait(is_("corrected"))  # while the stream runs: no stop sent yet
    assert first["first"] == 0 and not first["degraded"], first
    before_stop = len(talk.messages)
    await talk.send(pcm=pcm_of(clips[2:]))
    await talk.send({"type": "stop"})
    final = await talk.wait(is_("final"), after=before_stop)
    talk.close()
    assert final["language"] == lang
    if lang == "en":
        check_stream(talk.messages, " ".join(sentences))
    else:  # the demo Whisper base hears festival's Russian less well (WER about 0.28)
        assert jiwer.wer(words(" ".join(sentences)), words(final["text"])) < 0.5, final
    corrected = check_corrections(talk, final)
    print("corrected:", [m["text"] for m in corrected], "timings:", final["timings"])
    assert not final["correction"]["degraded"], final["correction"]


@pytest.mark.parametrize("neira_config", [{"live_correction": False}])
async def test_with_live_correction_off_segments_are_corrected_at_stop(
    jp_fetch: Fetch, jp_ws_fetch: Any, jp_serverapp: Any, audio_dir: Path
) -> None:
    await wait_ready(jp_fetch)
    engine = engine_of(jp_serverapp)
    sentences = SENTENCES["en"][:2]
    talk = Talk(await jp_ws_fetch("neira", "api", "transcribe", "stream"))
    pcm = pcm_of([speak(s, "en", audio_dir) for s in sentences])
    await talk.send({"type": "start", "language": "en", "correct": True}, pcm)
    await talk.wait(lambda m: m["type"] == "partial" and m["segment"] == 2)  # both committed
    assert not await llm_jobs(engine)  # nothing corrected while the stream runs
    stop_at = len(talk.messages)
    await talk.send({"type": "stop"})
    final = await talk.wait(is_("final"))
    talk.close()
    corrected = check_corrections(talk, final)
    assert all(talk.messages.index(m) >= stop_at for m in corrected)
    assert [(m["first"], m["end"]) for m in corrected] == [(0, 2)]  # 30 words or fewer: one


async def test_a_rejected_segment_correction_is_never_shown(
    jp_fetch: Fetch, jp_ws_fetch: Any, jp_serverapp: Any, audio_dir: Path
) -> None:
    await wait_ready(jp_fetch)
    # a guard that rejects every answer (longer than a tenth of the text): the raw words stay
    engine_of(jp_serverapp).corrector.guard = CorrectionGuard(max_length_ratio=0.1)
    sentences = SENTENCES["en"][3:5]
    talk = Talk(await jp_ws_fetch("neira", "api", "transcribe", "stream"))
    pcm = pcm_of([speak(s, "en", audio_dir) for s in sentences])
    await talk.send({"type": "start", "language": "en", "correct": True}, pcm)
    await talk.send({"type": "stop"})
    final = await talk.wait(is_("final"))
    talk.close()
    for message in check_corrections(talk, final):
        assert message["degraded"] and message["text"] == message["raw"], message
        assert "times as long" in message["reason"]
    assert final["text"] == final["raw"]
    assert final["correction"]["degraded"] and "segment 1:" in final["correction"]["reason"]


async def test_stop_awaits_the_running_segment_correction(
    jp_fetch: Fetch, jp_ws_fetch: Any, jp_serverapp: Any, audio_dir: Path
) -> None:
    await wait_ready(jp_fetch)
    engine = engine_of(jp_serverapp)
    sentence = SENTENCES["en"][1]
    talk = Talk(await jp_ws_fetch("neira", "api", "transcribe", "stream"))
    counted = corrections_counted()
    await talk.send({"type": "start", "language": "en", "correct": True})
    await talk.send(pcm=pcm_of([speak(sentence, "en", audio_dir)]))
    await until_llm_busy(engine)  # the committed sentence's correction is queued or running
    await talk.send({"type": "stop"})
    final = await talk.wait(is_("final"))
    talk.close()
    (corrected,) = check_corrections(talk, final)  # one correction: awaited, not redone
    assert (corrected["first"], corrected["end"]) == (0, 1)
    assert corrections_counted() == counted + 1
    assert final["timings"]["correct_ms"] > 0


async def test_cancel_mid_dictation_leaves_no_job(
    jp_fetch: Fetch, jp_ws_fetch: Any, jp_serverapp: Any, audio_dir: Path
) -> None:
    await wait_ready(jp_fetch)
    engine = engine_of(jp_serverapp)
    sentences = SENTENCES["en"][2:4]
    talk = Talk(await jp_ws_fetch("neira", "api", "transcribe", "stream"))
    counted = corrections_counted()
    await talk.send({"type": "start", "language": "en", "correct": True})
    await talk.send(pcm=pcm_of([speak(sentences[0], "en", audio_dir)]))
    await until_llm_busy(engine)  # a segment correction is queued or running
    await talk.send({"type": "cancel"})

    async def idle() -> None:
        while await llm_jobs(engine) or engine.scheduler.status()["depth"]:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(idle(), WAIT_S)  # its job was cancelled, not left running
    assert engine.scheduler.status()["running"] == 0
    finished_before_cancel = len(talk.of("corrected"))
    # the socket serves the next stream, and nothing of the cancelled one arrives
    cancelled_at = len(talk.messages)
    clip = speak(sentences[1], "en", audio_dir)
    await talk.send({"type": "start", "language": "en", "correct": True}, pcm_of([clip]))
    await talk.send({"type": "stop"})
    final = await talk.wait(is_("final"), after=cancelled_at)
    talk.close()
    assert len(talk.of("final")) == 1 and final["raw"]
    (next_stream,) = talk.of("corrected")[finished_before_cancel:]
    assert next_stream["raw"] == final["raw"]  # nothing of the cancelled stream after it
    # only the corrections that finished were counted: the cancelled one never finished
    assert corrections_counted() == counted + finished_before_cancel + 1


@pytest.mark.parametrize("neira_config", [{"max_audio_seconds": 6.0}])
async def test_the_duration_limit_keeps_what_was_heard(
    jp_fetch: Fetch, jp_ws_fetch: Any, audio_dir: Path
) -> None:
    await wait_ready(jp_fetch)
    sentences = SENTENCES["en"][:2]
    talk = Talk(await jp_ws_fetch("neira", "api", "transcribe", "stream"))
    pcm = pcm_of([speak(s, "en", audio_dir) for s in sentences])
    assert len(pcm) > 6 * 32000  # longer than the limit
    await talk.send({"type": "start", "language": "en", "correct": True}, pcm)
    error = await talk.wait(is_("error"))
    assert error["status"] == 413 and "limit of 6 s" in error["message"], error
    assert "kept" in error["message"]
    final = await talk.wait(is_("final"))
    talk.close()
    assert final["duration"] == pytest.approx(6.0, abs=0.05)
    assert sentences[0].split()[0].lower() in final["raw"].lower(), final
    check_corrections(talk, final)
    assert len(talk.of("error")) == 1  # frames past the limit are ignored, not refused each
