"""``Recorder``: the recording widget -- microphone in the browser, live partials, corrected text.

Shown by ``%transcribe`` with no path, or directly::

    from neira_jupyter.kernel.widget import Recorder
    rec = Recorder(language="en")
    rec                      # record, speak, stop
    rec.value                # the corrected text
    rec.result               # the whole final message (raw, text, correction, segments, ...)

How the audio travels. The browser sends the microphone's PCM **straight to
the Jupyter server's** ``WS api/transcribe/stream`` and the partials come
straight back; only the final result goes to the kernel, as the widget's
``result`` and ``value`` traits. The page that shows the widget is served by
that same server, so the socket reuses the page's own credentials (its
cookie, or the token in the page config), exactly like the kernel
WebSockets JupyterLab opens itself. The other road -- browser to kernel over
the widget comm, kernel to server over HTTP -- is not taken: comm messages
are handled on the kernel's shell channel, so audio and partials would stall
whenever a cell is running (the very moment a user may dictate), every
100 ms frame would cross two extra hops, and the kernel would need a
WebSocket client. The price: the widget needs a front end served by the
neira server (JupyterLab 4, Notebook 7); elsewhere it says so instead of
recording.

The kernel side stays light: ``anywidget`` and ``traitlets`` only. The front
end is TypeScript in ``labextension/src/recorder/`` -- the audio capture (an
AudioWorklet that averages the device-rate signal down to 16 kHz mono s16le
in 100 ms frames, with echo cancellation, noise suppression and auto gain
off), the socket client typed by the generated protocol, and the view --
which the lab extension's Dictate button shares. esbuild bundles it into one
ES module, ``recorder.js`` beside this file, built (git-ignored) like the lab
extension: by ``make setup`` and by the package build (``pip install``), or
by ``npm run build:recorder`` in ``labextension/``.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from .arguments import LANGUAGES

STATES = ("idle", "connecting", "recording", "finishing", "done", "error")
STREAM_PATH = "neira/api/transcribe/stream"

_HERE = pathlib.Path(__file__).parent
_ESM = _HERE / "recorder.js"

ResultCallback = Callable[[dict[str, Any]], None]


def front_end_missing() -> str | None:
    """Why the widget cannot show (its bundle was never built), or None when it can."""
    if _ESM.is_file():
        return None
    return (
        f"the recording widget's front end is not built ({_ESM} is missing): run "
        "`make setup`, or `npm run build:recorder` in labextension/"
    )


class Recorder(anywidget.AnyWidget):
    """Record from the microphone; see partial transcripts live; get the corrected text.

    ``language`` (``"auto"``, ``"ru"`` or ``"en"``) and ``correct`` (run the
    LLM correction) are sent with each recording. ``value`` and ``result``
    are written by the browser when a recording ends; ``status`` and
    ``error`` say what the widget is doing.
    """

    _esm = _ESM
    _css = _HERE / "recorder.css"

    language = traitlets.Unicode("auto", help="Speech language: auto, ru or en.").tag(sync=True)
    correct = traitlets.Bool(True, help="Correct the transcript with the LLM.").tag(sync=True)
    value = traitlets.Unicode("", help="The latest corrected text (set by the browser).").tag(
        sync=True
    )
    result = traitlets.Dict(
        help="The latest final message: raw, text, correction, segments, timings."
    ).tag(sync=True)
    status = traitlets.Unicode("idle", help="What the widget is doing: " + ", ".join(STATES)).tag(
        sync=True
    )
    error = traitlets.Unicode("", help="The last error shown to the user.").tag(sync=True)
    stream_path = traitlets.Unicode(
        STREAM_PATH, help="The streaming endpoint, relative to the server's base URL."
    ).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        if not _ESM.is_file():
            raise FileNotFoundError(
                f"The Recorder's front end ({_ESM}) is not built: run `make setup`, "
                "or `npm install && npm run build:recorder` in labextension/"
            )
        super().__init__(**kwargs)
        self._callbacks: list[ResultCallback] = []

    @traitlets.validate("language")
    def _valid_language(self, proposal: dict[str, Any]) -> str:
        language = str(proposal["value"])
        if language not in LANGUAGES:
            raise traitlets.TraitError(
                f"language must be one of {', '.join(LANGUAGES)}, got {language!r}"
            )
        return language

    @traitlets.validate("status")
    def _valid_status(self, proposal: dict[str, Any]) -> str:
        status = str(proposal["value"])
        if status not in STATES:
            raise traitlets.TraitError(f"status must be one of {', '.join(STATES)}")
        return status

    @traitlets.validate("result")
    def _valid_result(self, proposal: dict[str, Any]) -> dict[str, Any]:
        result = dict(proposal["value"])
        if result and not isinstance(result.get("text"), str):
            raise traitlets.TraitError("a result must hold the final 'text'")
        return result

    @traitlets.observe("result")
    def _result_changed(self, change: dict[str, Any]) -> None:
        result = change["new"]
        if not result:
            return
        for callback in list(self._callbacks):
            callback(result)

    @property
    def raw(self) -> str:
        """The latest transcript before correction."""
        return str(self.result.get("raw", ""))

    def on_result(self, callback: ResultCallback, remove: bool = False) -> None:
        """Call ``callback(result)`` whenever a recording finishes (``remove=True`` undoes it)."""
        if remove:
            self._callbacks.remove(callback)
        else:
            self._callbacks.append(callback)

    def clear(self) -> None:
        """Forget the last result (the view clears too)."""
        self.result = {}
        self.value = ""
        self.error = ""
        self.status = "idle"
