"""The Recorder widget's Python side, driven through its comm as the browser would, no browser.

The browser writes ``status``, then ``result`` and ``value`` in one update
message when a recording ends; these tests send the same messages to the
widget's comm handler and check what the kernel sees. The widget's ESM,
``recorder.js``, is bundled from ``labextension/src/recorder/`` (by ``make
setup``): its banner carries the sources' sha256, so a stale build fails here
without node (``make lint`` bundles again with esbuild and compares).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
import traitlets

from neira_jupyter.kernel import widget as widget_module
from neira_jupyter.kernel.arguments import LANGUAGES
from neira_jupyter.kernel.widget import STATES, STREAM_PATH, Recorder

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "labextension" / "src" / "recorder"
REBUILD = "make setup, or: cd labextension && npm run build:recorder"

FINAL: dict[str, Any] = {
    "type": "final",
    "raw": "please send the report to my manager before friday",
    "text": "Please send the report to my manager before Friday.",
    "language": "en",
    "duration": 3.9,
    "segments": [{"start": 0.0, "end": 3.6, "text": "please send the report"}],
    "correction": {
        "raw": "please send the report to my manager before friday",
        "corrected": "Please send the report to my manager before Friday.",
        "degraded": False,
        "reason": None,
        "model": "gemma-3-270m-demo",
        "changes": [{"op": "replace", "raw": "please", "corrected": "Please"}],
    },
    "timings": {"finish_ms": 120.0},
}


def from_browser(widget: Recorder, **state: Any) -> None:
    """Deliver a state update as the front end sends it over the comm."""
    data = {"method": "update", "state": state, "buffer_paths": []}
    message = {"content": {"data": data}, "buffers": []}
    widget._handle_msg(message)


def test_defaults_and_synced_state() -> None:
    widget = Recorder()
    state = widget.get_state()
    assert state["language"] == "auto"
    assert state["correct"] is True
    assert state["value"] == ""
    assert state["result"] == {}
    assert state["status"] == "idle"
    assert state["stream_path"] == STREAM_PATH
    # what the browser gets: anywidget syncs the files' text as ``_esm`` and ``_css``
    assert re.search(r"^export \{[^}]*\bas default\b", state["_esm"], re.MULTILINE)
    assert "getUserMedia" in state["_esm"]
    assert "neira-recorder" in state["_css"]
    widget.close()


def test_result_from_the_browser_reaches_python() -> None:
    widget = Recorder(language="en")
    seen: list[dict[str, Any]] = []
    widget.on_result(seen.append)
    from_browser(widget, status="recording")
    assert widget.status == "recording"
    from_browser(widget, result=FINAL, value=FINAL["text"], status="done")
    assert widget.value == "Please send the report to my manager before Friday."
    assert widget.raw == FINAL["raw"]
    assert widget.result["correction"]["model"] == "gemma-3-270m-demo"
    assert widget.status == "done"
    assert seen == [FINAL]
    widget.on_result(seen.append, remove=True)
    from_browser(widget, result={**FINAL, "text": "again"}, value="again")
    assert len(seen) == 1
    widget.clear()
    assert widget.value == "" and widget.result == {} and widget.status == "idle"
    widget.close()


def test_errors_from_the_browser_are_kept() -> None:
    widget = Recorder()
    from_browser(widget, status="error", error="Microphone access was denied.")
    assert widget.status == "error"
    assert "denied" in widget.error
    widget.close()


def test_bad_values_are_refused() -> None:
    with pytest.raises(traitlets.TraitError, match="language"):
        Recorder(language="de")
    widget = Recorder()
    with pytest.raises(traitlets.TraitError):
        widget.status = "dancing"
    with pytest.raises(traitlets.TraitError, match="text"):
        widget.result = {"raw": "no text"}
    widget.close()


def test_options_from_python_are_sent_to_the_browser() -> None:
    widget = Recorder()
    sent: list[dict[str, Any]] = []
    widget.comm.send = lambda data=None, metadata=None, buffers=None: sent.append(data)
    widget.language = "ru"
    widget.correct = False
    states = [m["state"] for m in sent if m.get("method") == "update"]
    assert {"language": "ru"} in states
    assert {"correct": False} in states
    widget.close()


def test_the_bundle_is_built_from_the_current_typescript() -> None:
    digest = hashlib.sha256()
    for path in sorted(SOURCES.glob("*.ts"), key=lambda p: p.name):
        digest.update(f"{path.name}\n".encode())
        digest.update(path.read_bytes())
    banner = (ROOT / "neira_jupyter" / "kernel" / "recorder.js").read_text(encoding="utf-8")[:400]
    assert f"// sources sha256: {digest.hexdigest()}" in banner, (
        f"neira_jupyter/kernel/recorder.js is stale; run: {REBUILD}"
    )


def test_the_typescript_knows_the_python_states_languages_and_path() -> None:
    model = (SOURCES / "model.ts").read_text(encoding="utf-8")
    union = re.search(r"export type RecorderStatus =([^;]+);", model)
    assert union is not None
    assert tuple(re.findall(r"'([a-z]+)'", union.group(1))) == STATES
    view = (SOURCES / "view.ts").read_text(encoding="utf-8")
    offered = re.search(r"const LANGUAGES[^=]*= \[(.*?)\];", view, re.DOTALL)
    assert offered is not None
    assert set(re.findall(r"\['([a-z]+)', ", offered.group(1))) == set(LANGUAGES)
    transcription = (SOURCES / "transcription.ts").read_text(encoding="utf-8")
    assert f"export const STREAM_PATH = '{STREAM_PATH}';" in transcription


def test_an_unbuilt_front_end_says_how_to_build_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(widget_module, "_ESM", tmp_path / "recorder.js")
    with pytest.raises(FileNotFoundError, match="npm run build:recorder"):
        Recorder()
