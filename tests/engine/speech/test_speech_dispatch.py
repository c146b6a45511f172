"""Many live streams on one Whisper: finals before partials, partials coalesced and dropped.

A real ``NeiraEngine`` with the demo Whisper base (no LLM: the streams ask for
no correction) and ``StreamingRecognizer``s fed espeak-ng speech. Flooding
streams get fresh audio all the time, so each always wants another partial;
the stream that stops must still get its final next, and every stream has
at most one decode waiting, whatever the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import jiwer
import numpy as np
import pytest

from neira_jupyter.engine.config import build_engine_config
from neira_jupyter.engine.service import NeiraEngine
from neira_jupyter.engine.speech import Priority, StreamingRecognizer, StreamOptions
from neira_jupyter.server.app import NeiraApp
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.correction_eval import words_only

pytestmark = pytest.mark.model  # each test runs the demo Whisper in an engine

CHUNK = 1600  # 100 ms


def samples(path: Path) -> np.ndarray:
    with wave.open(str(path)) as clip:
        pcm = np.frombuffer(clip.readframes(clip.getnframes()), "<i2")
    return pcm.astype(np.float32) / 32768


def speech_only(audio: np.ndarray) -> np.ndarray:
    """The clip without its silent ends, so that looping it never makes a pause."""
    loud = np.flatnonzero(np.abs(audio) > 0.05)
    return audio[loud[0] : loud[-1]]


@contextlib.asynccontextmanager
async def speech_engine() -> AsyncIterator[NeiraEngine]:
    """A started engine with the demo Whisper and no LLM."""
    options = {**NeiraApp.option_defaults(), "llm_enabled": False, "eager_load": True}
    engine = NeiraEngine(build_engine_config(options))
    engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


async def flood(
    recognizer: StreamingRecognizer, audio: np.ndarray, stop: asyncio.Event, pace_s: float
) -> None:
    """Feed ``audio`` over and over in 100 ms chunks, one every ``pace_s``, until ``stop``."""
    position = 0
    while not stop.is_set():
        if position + CHUNK > audio.size:
            position = 0
        recognizer.feed(audio[position : position + CHUNK])
        position += CHUNK
        await asyncio.sleep(pace_s)


async def test_a_final_goes_before_the_partials_of_streams_still_speaking(
    audio_dir: Path,
) -> None:
    async with speech_engine() as engine:
        await final_first(engine, audio_dir)


async def final_first(engine: NeiraEngine, audio_dir: Path) -> None:
    dispatcher = engine.transcription.live_speech
    assert dispatcher is not None
    options = StreamOptions(language="en", correct=False, step_s=0.2)
    floods = [StreamingRecognizer(engine.live_calls(f"user{i}"), options) for i in range(6)]
    babble = speech_only(samples(speak(SENTENCES["en"][0], "en", audio_dir)))
    stop = asyncio.Event()  # real-time pace: no segment reaches max_segment_s in this test
    feeders = [asyncio.create_task(flood(r, babble, stop, 0.1)) for r in floods]
    reference = SENTENCES["en"][1]
    speaker = StreamingRecognizer(engine.live_calls("alice"), options)
    try:
        while dispatcher.counts["partials"] < 8:  # the flood is on: partials keep coming
            await asyncio.sleep(0.05)
        speaker.feed(samples(speak(reference, "en", audio_dir)))
        await asyncio.sleep(0.3)  # its own partials join the queue
        served_before = len(dispatcher.served)
        result = await speaker.finish()
        waiting = dispatcher.status()["waiting"]
        since = list(dispatcher.served)[served_before - len(dispatcher.served) :]
    finally:
        stop.set()
        await asyncio.gather(*feeders)
        for recognizer in floods:
            await recognizer.cancel()
    assert jiwer.wer(words_only(reference), words_only(result.raw)) < 0.35, result.raw
    finals = [i for i, (priority, key) in enumerate(since) if key == speaker.key]
    assert finals and since[finals[-1]][0] is Priority.STOP, since
    # between stop and the final, at most the one window already on the lane was a partial
    partials_first = [p for p, key in since[: finals[-1]] if p is Priority.PARTIAL]
    assert len(partials_first) <= dispatcher.concurrency, since
    assert waiting["partial"] >= 1, waiting  # the other streams were still asking


async def test_each_stream_has_one_decode_waiting_and_a_stop_drops_its_partial(
    audio_dir: Path,
) -> None:
    async with speech_engine() as engine:
        await one_waiting_each(engine, audio_dir)


async def one_waiting_each(engine: NeiraEngine, audio_dir: Path) -> None:
    dispatcher = engine.transcription.live_speech
    assert dispatcher is not None
    options = StreamOptions(language="en", correct=False, step_s=0.1)
    streams = [StreamingRecognizer(engine.live_calls(f"user{i}"), options) for i in range(6)]
    babble = samples(speak(SENTENCES["en"][2], "en", audio_dir))
    stop = asyncio.Event()
    feeders = [asyncio.create_task(flood(r, babble, stop, 0.02)) for r in streams]
    most_waiting = 0
    try:
        for _ in range(60):  # 3 s of six streams fed at 5x real time
            await asyncio.sleep(0.05)
            waiting = sum(dispatcher.status()["waiting"].values())
            most_waiting = max(most_waiting, waiting)
        dropped_before = dispatcher.counts["partials_dropped"]
        stop.set()
        await asyncio.gather(*feeders)
        results = await asyncio.gather(*(s.finish() for s in streams))
    finally:
        stop.set()
        for recognizer in streams:
            with contextlib.suppress(Exception):
                await recognizer.cancel()
    assert 1 <= most_waiting <= len(streams)  # never a backlog beyond one per stream
    # audio arrived 5x faster than real time: far fewer partials than 0.1 s steps of audio
    fed_s = sum(r.duration for r in results)
    assert dispatcher.counts["partials"] < fed_s / options.step_s / 2
    assert dispatcher.counts["partials_dropped"] > dropped_before  # stopped streams' partials
    assert all(r.raw for r in results)
    assert dispatcher.status()["waiting"] == {"stop": 0, "segment": 0, "partial": 0}
