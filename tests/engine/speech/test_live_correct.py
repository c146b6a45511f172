"""``LiveCorrector`` and ``sentence_pieces``: segments corrected in order, context, classes.

The corrector is given a small async ``correct`` (as ``tests/engine/test_correct.py``
gives its ``generate`` callables): it records each call and answers with the
text upper-cased, or degraded for text containing "reject". The real engine
path is tested end to end in ``tests/server/test_speech_stream_correct.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from neira_jupyter.engine.correct import Correction
from neira_jupyter.engine.speech import (
    CorrectedSegments,
    LiveCorrector,
    join_corrections,
    sentence_pieces,
)
from neira_jupyter.engine.types import Latency


class Corrections:
    """An awaited ``correct`` that waits for ``release`` and records its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...], Latency]] = []  # text, context, class
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(
        self, text: str, language: str, context: Sequence[Correction], latency: Latency
    ) -> Correction:
        self.calls.append((text, tuple(c.corrected for c in context), latency))
        await self.release.wait()
        rejected = "reject" in text
        return Correction(
            raw=text,
            corrected=text if rejected else text.upper(),
            degraded=rejected,
            reason="the guard said no" if rejected else None,
            language=language,
            model=None if rejected else "llm",
            timings={"total_ms": 1.0},
        )


async def test_segments_are_corrected_in_order_with_the_earlier_ones_as_context() -> None:
    correct = Corrections()
    heard: list[CorrectedSegments] = []
    corrector = LiveCorrector(correct, heard.append)
    corrector.add(0, "one two", "en")
    await asyncio.sleep(0.01)
    correct.release.clear()  # the second correction runs while three more segments come
    corrector.add(1, "three", "en")
    await asyncio.sleep(0.01)
    corrector.add(2, "four", "en")
    corrector.add(3, "reject five", "en")
    assert corrector.running
    corrector.hurry()  # stop: what is still to start goes in the urgent class
    correct.release.set()
    parts = await corrector.finish()
    assert not corrector.running
    assert correct.calls == [
        ("one two", (), Latency.SEGMENT),
        ("three", ("ONE TWO",), Latency.SEGMENT),  # the context grows by a turn
        ("four reject five", ("ONE TWO", "THREE"), Latency.URGENT),  # waited together: one
    ]
    assert parts == heard
    assert [(p.first, p.end, p.covered_words) for p in parts] == [(0, 1, 2), (1, 2, 3), (2, 4, 6)]
    joined = join_corrections("one two three four reject five", parts)
    assert joined.corrected == "ONE TWO THREE four reject five"  # the rejected part stays raw
    assert joined.degraded and joined.reason == "segments 3-4: the guard said no"
    assert joined.model == "llm" and joined.timings == {"total_ms": 3.0}


async def test_a_long_backlog_is_corrected_in_pieces_side_by_side_after_stop() -> None:
    correct = Corrections()
    correct.release.clear()
    corrector = LiveCorrector(correct)
    sentence = " ".join(["word"] * 12)
    corrector.add(0, "first", "en")
    await asyncio.sleep(0.01)  # "first" runs; five sentences of 12 words wait behind it
    for segment in range(1, 6):
        corrector.add(segment, sentence, "en")
    corrector.hurry()
    await asyncio.sleep(0.01)
    assert len(correct.calls) == 1  # nothing else starts before the running one is done
    correct.release.set()
    parts = await corrector.finish()
    # at most 30 words each (two sentences), all started together, urgent, after "first"
    assert [(p.first, p.end) for p in parts] == [(0, 1), (1, 3), (3, 5), (5, 6)]
    assert correct.calls[0] == ("first", (), Latency.SEGMENT)
    two = f"{sentence} {sentence}"
    assert correct.calls[1:] == [  # side by side, with the same context
        (two, ("FIRST",), Latency.URGENT),
        (two, ("FIRST",), Latency.URGENT),
        (sentence, ("FIRST",), Latency.URGENT),
    ]
    assert parts[-1].covered_words == 1 + 5 * 12


async def test_the_context_skips_rejected_corrections_and_starts_again_when_full() -> None:
    correct = Corrections()
    corrector = LiveCorrector(correct)
    words = [" ".join([f"w{n}"] * 25) for n in range(4)]  # 25 words each
    for segment, text in enumerate([words[0], "reject this", *words[1:]]):
        corrector.add(segment, text, "en")
        await asyncio.sleep(0.01)  # each one done before the next comes
    await corrector.finish()
    contexts = [context for _, context, _ in correct.calls]
    first, second, third = (w.upper() for w in words[:3])
    assert contexts == [
        (),
        (first,),
        (first,),  # the rejected correction is no context
        (first, second),  # 50 words
        (third,),  # 75 would pass MAX_CONTEXT_WORDS (60): it starts again from the newest
    ]


async def test_cancel_drops_the_waiting_segments_and_the_running_correction() -> None:
    correct = Corrections()
    correct.release.clear()
    heard: list[CorrectedSegments] = []
    corrector = LiveCorrector(correct, heard.append)
    corrector.add(0, "one", "en")
    await asyncio.sleep(0.01)
    corrector.add(1, "two", "en")
    await corrector.cancel()
    correct.release.set()
    await asyncio.sleep(0.01)
    assert [text for text, _, _ in correct.calls] == ["one"] and heard == []
    assert not corrector.running and await corrector.finish() == []


def test_sentence_pieces_keep_the_text_and_join_short_sentences() -> None:
    text = "Hi. This is the first long sentence here!\nNext line has enough words too ok. End"
    pieces = sentence_pieces(f"  {text} ")
    assert pieces == [
        ("Hi. This is the first long sentence here!", "\n"),
        ("Next line has enough words too ok.", " "),
        ("End", ""),
    ]
    assert "".join(piece + space for piece, space in pieces) == text
    assert sentence_pieces("   ") == []
