"""The CPU gate (engine/compute.py): one model computes at a time, in the order they asked.

The gate's rules on plain threads, then the real models taking their turns:
the demo LLM for each ``llama_decode`` and Whisper for each piece of
a decode, both at once from two threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from neira_jupyter.engine.compute import CPU, ComputeGate
from neira_jupyter.engine.llm import LlamaModel, LLMSpec
from neira_jupyter.engine.speech import WhisperTranscriber
from neira_jupyter.engine.speech.audio import decode_audio
from neira_jupyter.engine.types import ChatMessage, GenerationOptions, GenerationResult
from tests.conftest import loads_model
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.models import qwen_path


def test_one_holder_at_a_time() -> None:
    gate = ComputeGate()
    inside, most = 0, 0
    count = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        for _ in range(200):
            with gate.turn():
                with count:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.0001)
                with count:
                    inside -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1 and gate.turns == 800


def test_a_busy_loop_does_not_keep_a_waiting_step_out() -> None:
    """The batch loop asks again at once after each step; a Whisper step queued meanwhile
    goes next (a plain lock would let the loop win again and again)."""
    gate = ComputeGate()
    loop_turns = 0
    stop = threading.Event()

    def busy_loop() -> None:
        nonlocal loop_turns
        while not stop.is_set():
            with gate.turn():
                loop_turns += 1
                time.sleep(0.002)

    thread = threading.Thread(target=busy_loop)
    thread.start()
    try:
        waits = []
        for _ in range(20):
            time.sleep(0.005)
            before = loop_turns
            with gate.turn():
                waits.append(loop_turns - before)
    finally:
        stop.set()
        thread.join()
    # the loop finishes the step it holds (and maybe one it had queued): never more
    assert max(waits) <= 2, waits


def test_work_off_the_cpu_takes_no_turn() -> None:
    gate = ComputeGate()
    with gate.turn():  # held: a GPU step must not wait for it
        done = threading.Event()

        def gpu_step() -> None:
            with gate.turn(on_cpu=False):
                done.set()

        threading.Thread(target=gpu_step).start()
        assert done.wait(5)
    assert gate.turns == 1


@pytest.fixture(scope="module")
@loads_model
def llm() -> Iterator[LlamaModel]:
    model = LlamaModel(LLMSpec(name="qwen", path=qwen_path(), n_ctx=256, slots=2))
    model.load()
    yield model
    model.close()



def test_llm_and_whisper_on_the_cpu_take_turns(
    llm: LlamaModel, whisper: WhisperTranscriber, audio_dir: Path
) -> None:
    assert llm.device == "cpu"
    audio = decode_audio(speak(SENTENCES["en"][0], "en", audio_dir).read_bytes())
    silence = np.zeros(16000, dtype=np.float32)
    options = GenerationOptions(max_tokens=24, temperature=0.0)
    results: list[GenerationResult] = []

    def generate() -> None:
        for item in llm.generate([ChatMessage("user", "Count to ten.")], options):
            if isinstance(item, GenerationResult):
                results.append(item)

    before = CPU.turns
    thread = threading.Thread(target=generate)
    thread.start()
    heard = whisper.transcribe(np.concatenate([audio, silence]), "en")
    thread.join()
    [result] = results
    # one turn per llama_decode (prompt, then one per token) and at least two for
    # Whisper (features and language, then each segment)
    assert CPU.turns - before >= result.usage.completion_tokens + 2
    assert heard.text and result.text  # both did their work while sharing the cores
