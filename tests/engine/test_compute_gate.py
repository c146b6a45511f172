"""``ComputeGate``: one call at a time, fair in time between parties, never held off the CPU.

The parties' calls are real threads that hold the gate until the test lets them go; the
order in which they got it is recorded, so nothing here depends on timing. The models'
own use of the gate is checked with the real demo models at the end.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from neira_jupyter.engine.compute_gate import CPU_GATE, ComputeGate


class Calls:
    """Threads that each hold ``gate`` for one call, in the order the gate lets them."""

    def __init__(self, gate: ComputeGate) -> None:
        self.gate = gate
        self.order: list[str] = []
        self.inside = 0
        self.most_inside = 0
        self._lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def start(self, name: str, party: str, release: threading.Event, device: str = "cpu") -> None:
        def call() -> None:
            with self.gate.hold(party, device):
                with self._lock:
                    self.order.append(name)
                    self.inside += 1
                    self.most_inside = max(self.most_inside, self.inside)
                release.wait(10)
                with self._lock:
                    self.inside -= 1

        thread = threading.Thread(target=call, daemon=True)
        self.threads.append(thread)
        thread.start()

    def waiting(self, count: int) -> None:
        """Until ``count`` calls wait for the gate (the gate's own queue says so)."""
        deadline = time.monotonic() + 10
        while len(self.gate._waiting) < count:
            assert time.monotonic() < deadline, "the calls never reached the gate"
            time.sleep(0.001)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(10)
            assert not thread.is_alive()


def test_one_call_at_a_time_and_the_least_served_party_goes_first() -> None:
    gate = ComputeGate()
    calls = Calls(gate)
    first, go = threading.Event(), threading.Event()
    go.set()
    calls.start("speech-long", "speech", first)  # holds the gate while the others queue
    calls.waiting(0)
    deadline = time.monotonic() + 10
    while not calls.order:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    time.sleep(0.05)  # speech holds for a while: its clock is ahead when it lets go
    for index in range(3):
        calls.start(f"speech-{index}", "speech", go)
        calls.waiting(index + 1)
    for index in range(3):
        calls.start(f"llm-{index}", "llm", go)
        calls.waiting(index + 4)
    first.set()
    calls.join()
    assert calls.most_inside == 1
    # the LLM had held nothing: all its waiting steps go before speech's second call,
    # though speech's calls asked first; within a party, first come first served
    speech = [f"speech-{i}" for i in range(3)]
    assert calls.order == ["speech-long", "llm-0", "llm-1", "llm-2", *speech]
    stats = gate.stats()
    assert stats["speech"]["calls"] == 4 and stats["llm"]["calls"] == 3
    assert stats["speech"]["held_s"] >= 0.05
    assert stats["llm"]["waited_s"] > 0


def test_a_party_that_was_idle_cannot_save_up_a_burst() -> None:
    gate = ComputeGate()
    for _ in range(3):  # the LLM has held the gate for 150 ms, alone
        with gate.hold("llm"):
            time.sleep(0.05)
    calls = Calls(gate)
    first, second, go = threading.Event(), threading.Event(), threading.Event()
    go.set()
    calls.start("llm-holding", "llm", first)
    while not calls.order:
        time.sleep(0.001)
    calls.start("speech-0", "speech", second)  # arrives level with the LLM, not 150 ms behind
    calls.waiting(1)
    calls.start("speech-1", "speech", go)
    calls.waiting(2)
    calls.start("llm-next", "llm", go)
    calls.waiting(3)
    first.set()
    while len(calls.order) < 2:
        time.sleep(0.001)
    time.sleep(0.06)  # speech-0 holds 60 ms
    second.set()
    calls.join()
    # speech's 60 ms put it ahead of the LLM's clock: the LLM goes next. Had speech started
    # from zero, it would have gone twice.
    assert calls.order == ["llm-holding", "speech-0", "llm-next", "speech-1"]


def test_calls_off_the_cpu_nested_calls_and_a_disabled_gate_pass_through() -> None:
    gate = ComputeGate()
    calls = Calls(gate)
    hold, go = threading.Event(), threading.Event()
    go.set()
    calls.start("cpu", "llm", hold)
    while not calls.order:
        time.sleep(0.001)
    calls.start("gpu", "speech", go, device="cuda")  # a GPU call does not wait for the CPU's
    calls.threads[-1].join(10)
    assert calls.order == ["cpu", "gpu"]
    gate.enabled = False
    calls.start("off", "speech", go)
    calls.threads[-1].join(10)
    assert calls.order == ["cpu", "gpu", "off"]
    hold.set()
    calls.join()
    gate.enabled = True
    with gate.hold("speech"), gate.hold("speech"):  # the same thread again: no deadlock
        pass
    assert gate.stats()["speech"]["calls"] == 1


@pytest.mark.model
def test_the_models_on_the_cpu_take_the_gate(tmp_path: Path) -> None:
    """The batch loop's steps, Whisper's windows and whole files hold the process's gate."""
    import numpy as np

    from neira_jupyter.engine.llm.llama import LlamaModel, LLMSpec
    from neira_jupyter.engine.speech.whisper import SpeechSpec, WhisperTranscriber
    from neira_jupyter.engine.speech.window import Window
    from neira_jupyter.engine.types import ChatMessage, GenerationOptions, GenerationResult
    from tests.support.audio_fixtures import speak
    from tests.support.models import qwen_path, tiny_en_path

    before = CPU_GATE.stats()
    llm = LlamaModel(LLMSpec("demo", qwen_path(), n_ctx=512))
    llm.load()
    try:
        *_, result = llm.generate(
            [ChatMessage("user", "Say hi.")], GenerationOptions(max_tokens=4, temperature=0.0)
        )
    finally:
        llm.close()
    assert isinstance(result, GenerationResult)
    steps = CPU_GATE.stats()["llm"]["calls"] - before.get("llm", {}).get("calls", 0)
    assert steps >= result.usage.completion_tokens >= 1  # a step per token, and the prompt's
    whisper = WhisperTranscriber(SpeechSpec("tiny", tiny_en_path(), device="cpu"))
    whisper.load()
    try:
        wav = speak("The meeting starts at nine.", "en", tmp_path)
        import wave

        with wave.open(str(wav)) as source:
            audio = np.frombuffer(source.readframes(source.getnframes()), "<i2") / 32768
        audio = audio.astype(np.float32)
        held = CPU_GATE.stats().get("speech", {}).get("calls", 0)
        whisper.transcribe_windows([Window(audio, "en")])
        assert CPU_GATE.stats()["speech"]["calls"] == held + 1
        whisper.transcribe(audio, "en")
        assert CPU_GATE.stats()["speech"]["calls"] >= held + 3  # the call and its one piece
    finally:
        whisper.close()
