"""How answers and transcripts are rendered: ``%transcribe``'s diff and the answer formats.

``%transcribe`` shows the raw transcript, the correction as it streams, then
the raw and the corrected transcript with a word diff
(escaped HTML, ``[-old-] {+new+}`` as text) and keeps a
``TranscriptResult``; ``word_diff`` takes the server's changes or computes
them; ``answer_bundle`` renders markdown, JSON, math, code and HTML answers.
The server is the stub of ``tests/support/stub_api.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from neira_jupyter.engine.correct import word_diff as engine_word_diff
from neira_jupyter.kernel.magics import TranscriptResult
from neira_jupyter.kernel.render import answer_bundle, diff_text, extract_code, word_diff
from tests.support.ipython_shell import magics_of, run, use_stub
from tests.support.stub_api import StubState


def test_transcribe_shows_raw_corrected_and_diff(
    shell: InteractiveShell,
    monkeypatch: pytest.MonkeyPatch,
    stub: tuple[str, StubState],
    tmp_path: Path,
) -> None:
    url, state = stub
    use_stub(monkeypatch, url)
    state.transcript = {
        "raw": "helo <b>world</b> how are you",
        "text": "Hello <b>world</b>, how are you?",
        "language": "en",
        "language_probability": 0.9,
        "duration": 2.1,
        "segments": [],
        "timings": {},
        "correction": {
            "raw": "helo <b>world</b> how are you",
            "corrected": "Hello <b>world</b>, how are you?",
            "degraded": False,
            "reason": None,
            "language": "en",
            "model": "stub-llm",
            "route": "primary",
            # what the server sends: the whole diff, equal runs included
            "changes": engine_word_diff(
                "helo <b>world</b> how are you", "Hello <b>world</b>, how are you?"
            ),
            "timings": {},
        },
    }
    audio = tmp_path / "clip.wav"
    audio.write_bytes(b"RIFF....WAVE")
    magics = magics_of(shell)
    magics.output_mode = "rich"
    result, captured = run(shell, f"%transcribe {audio} --lang en --out heard")
    magics.output_mode = "auto"
    assert result.success, captured.stderr
    _, path, headers, body = state.requests[-1]
    assert path.endswith("transcribe?language=en&correct=true&stream=true")
    assert body == b"RIFF....WAVE"
    assert headers["Content-Type"] == "audio/wav"
    *progress, final = captured.outputs
    # the raw transcript at once, then the correction as it streams, escaped like the rest
    assert [o.data["text/plain"].endswith("▌") for o in progress] == [True, True]
    assert "Corrected (so far):\n  Hello <b>world</b>, how are you? ▌" in progress[1].data[
        "text/plain"
    ]
    assert "&lt;b&gt;world&lt;/b&gt;" in progress[1].data["text/html"]
    assert "<b>world</b>" not in progress[1].data["text/html"]
    bundle = final.data
    html_out = bundle["text/html"]
    assert "&lt;b&gt;world&lt;/b&gt;" in html_out and "<b>world</b>" not in html_out
    assert "<del" in html_out and "<ins" in html_out
    assert "Raw (language en, 2.1 s of audio):" in bundle["text/plain"]
    changes = "[-helo-] {+Hello+} [-<b>world</b>-] {+<b>world</b>,+} how are [-you-] {+you?+}"
    assert changes in bundle["text/plain"]
    heard = shell.user_ns["heard"]
    assert isinstance(heard, TranscriptResult) and heard.text.startswith("Hello")
    run(shell, f"%transcribe {audio} --raw")
    assert state.requests[-1][1].endswith("correct=false")


def test_transcribe_reports_an_error_in_the_stream_as_one_line(
    shell: InteractiveShell,
    monkeypatch: pytest.MonkeyPatch,
    stub: tuple[str, StubState],
    tmp_path: Path,
) -> None:
    url, state = stub
    use_stub(monkeypatch, url)
    raw = "hello there"
    state.transcript = {
        "raw": raw, "text": raw, "language": "en", "language_probability": 1.0,
        "duration": 1.0, "segments": [], "timings": {}, "correction": None,
    }  # fmt: skip
    state.transcribe_error = "the model crashed"
    audio = tmp_path / "clip.wav"
    audio.write_bytes(b"RIFF....WAVE")
    result, captured = run(shell, f"%transcribe {audio} --out heard")
    assert result.success and "heard" not in shell.user_ns
    # the in-band error event becomes the client's typed error, shown as one line
    assert captured.stderr.splitlines() == [
        "neira: No model can answer right now (degraded mode): the model crashed"
    ]


def test_word_diff_shows_the_servers_changes() -> None:
    raw, fixed = "i has a apple", "I have an apple."
    server = engine_word_diff(raw, fixed)  # what the server sends as correction.changes
    diff = word_diff(raw, fixed, server)
    assert diff_text(diff) == "[-i-] {+I+} [-has-] {+have+} [-a-] {+an+} [-apple-] {+apple.+}"
    assert [s.op for s in diff] == [c["op"] for c in server]
    rebuilt = " ".join(s.corrected if s.op != "equal" else s.raw for s in diff if s.op != "delete")
    assert rebuilt.split() == fixed.split()
    server = [
        {"op": "equal", "raw": "see", "corrected": "see"},
        {"op": "replace", "raw": "u", "corrected": "you"},
    ]
    assert [s.op for s in word_diff("see u", "see you", server)] == ["equal", "replace"]
    # changes that do not describe the whole text, or none: one step, never a guess
    partial = [{"op": "replace", "raw": "u", "corrected": "you"}]
    assert diff_text(word_diff("see u", "see you", partial)) == "[-see u-] {+see you+}"
    assert [s.op for s in word_diff("see u", "see u", None)] == ["equal"]


def test_answer_formats() -> None:
    assert extract_code("text\n```py\nx = 1\n```\nmore") == "x = 1"
    assert answer_bundle('```json\n{"a": 1}\n```', "json")["application/json"] == {"a": 1}
    assert "not valid JSON" in answer_bundle("{oops", "json")["text/plain"]
    assert answer_bundle("$$x^2$$", "math")["text/latex"] == "$$ x^2 $$"
    assert answer_bundle("x = 1", "code")["text/markdown"] == "```python\nx = 1\n```"
    stopped = answer_bundle("partial", "markdown", note="[stopped]")
    assert stopped["text/markdown"] == "partial\n\n*[stopped]*"
    assert (
        answer_bundle("<i>x</i>", "html", note="<n>")["text/html"]
        == "<i>x</i><p><em>&lt;n&gt;</em></p>"
    )
