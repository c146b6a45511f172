"""How the magics show things: answers, streams, transcripts, diffs, status tables.

Everything here builds MIME bundles (``{"text/markdown": ..., "text/plain": ...}``)
so a notebook gets the rich form and a terminal the plain text of the same
output. An answer is untrusted: Markdown goes through ``safe.inert_markdown``
(formatting and code, no live HTML), ``--format html`` through
``safe.sanitize_html``; every other piece of HTML is built from
``html.escape``-d text.

Streaming goes through a ``StreamView``: ``RichStreamView`` keeps one display
(a ``LiveDisplay``: ``display(..., display_id=True)``) and updates it in place, throttled;
``PlainStreamView`` writes the new text to stdout as it arrives, which is what
a terminal wants (re-printing the whole answer on every update would not be).
"""

from __future__ import annotations

import html
import json
import re
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast

from IPython.display import DisplayHandle, display

from .diff import WordChange, count_changes, diff_html, diff_text, word_diff
from .safe import inert_markdown, sanitize_html

__all__ = [
    "FORMATS",
    "STOPPED_NOTE",
    "LiveDisplay",
    "PlainStreamView",
    "RichStreamView",
    "StreamView",
    "answer_bundle",
    "code_blocks",
    "diff_text",
    "extract_code",
    "models_bundle",
    "status_bundle",
    "transcript_bundle",
    "word_diff",
]

FORMATS: tuple[str, ...] = ("markdown", "code", "text", "json", "html", "math")
STOPPED_NOTE = "[stopped]"
_CURSOR = " ▌"
_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[ \t]*\n(.*?)(?:\n[ \t]*```|\Z)", re.DOTALL)

Bundle = dict[str, Any]


def text_bundle(text: str) -> Bundle:
    return {"text/plain": text}


def markdown_bundle(markdown: str, plain: str | None = None) -> Bundle:
    return {"text/markdown": markdown, "text/plain": markdown if plain is None else plain}


def code_blocks(text: str) -> list[str]:
    """The fenced code blocks of ``text``, in order."""
    return [match.group(2).strip("\n") for match in _FENCE.finditer(text)]


def extract_code(text: str) -> str:
    """The first fenced code block of ``text``, or the whole text when there is none."""
    match = _FENCE.search(text)
    if match:
        return match.group(2).strip("\n")
    return text.strip()


def _strip_math(text: str) -> str:
    expr = text.strip()
    for left, right in (("$$", "$$"), ("\\[", "\\]"), ("$", "$")):
        if expr.startswith(left) and expr.endswith(right) and len(expr) > len(left) + len(right):
            return expr[len(left) : -len(right)].strip()
    return expr


def answer_bundle(
    text: str,
    fmt: str,
    *,
    language: str = "python",
    note: str | None = None,
    streaming: bool = False,
    footer: str = "",
) -> Bundle:
    """The MIME bundle of an answer in ``fmt``; ``note`` (e.g. ``[stopped]``) goes below it,
    then ``footer`` (our own Markdown, e.g. what context the answer used).

    While streaming, formats that cannot render half an answer (json, html,
    math) are shown as plain text with a cursor.
    """
    suffix_md = (f"\n\n*{note}*" if note else "") + footer
    suffix_txt = (f"\n{note}" if note else "") + footer
    if streaming:
        if fmt in ("markdown", "code"):
            as_code = fmt == "code"
            body = _code_markdown(extract_code(text), language) if as_code else inert_markdown(text)
            return markdown_bundle(body + _CURSOR, text + _CURSOR)
        return text_bundle(text + _CURSOR)
    if fmt == "markdown":
        return markdown_bundle(inert_markdown(text) + suffix_md, text + suffix_txt)
    if fmt == "code":
        code = extract_code(text)
        return markdown_bundle(_code_markdown(code, language) + suffix_md, code + suffix_txt)
    if fmt == "json":
        raw = extract_code(text)
        try:
            obj = json.loads(raw)
        except ValueError:
            return text_bundle(f"{text}{suffix_txt}\n(the answer is not valid JSON)")
        pretty = json.dumps(obj, indent=2, ensure_ascii=False)
        bundle: Bundle = {"text/plain": pretty + suffix_txt}
        if isinstance(obj, (dict, list)):
            bundle["application/json"] = obj
        return bundle
    if fmt == "html":
        note_html = f"<p><em>{html.escape(note)}</em></p>" if note else ""
        return {"text/html": sanitize_html(text) + note_html, "text/plain": text + suffix_txt}
    if fmt == "math":
        expr = _strip_math(text)
        return {"text/latex": f"$$ {expr} $$", "text/plain": expr + suffix_txt}
    return text_bundle(text + suffix_txt)


def _code_markdown(code: str, language: str) -> str:
    """``code`` in a fence longer than any run of backticks inside it (it cannot break out)."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code}\n{fence}"


# --------------------------------------------------------------------------- streaming


class StreamView(Protocol):
    """Where a streaming answer goes while it arrives."""

    def update(self, text: str) -> None: ...

    def finish(self, text: str, fmt: str, note: str | None = None, footer: str = "") -> None: ...


class LiveDisplay:
    """One display output: shown by the first ``show``, updated in place by the next ones."""

    def __init__(self) -> None:
        self.updates = 0
        self._handle: DisplayHandle | None = None

    def show(self, bundle: Bundle) -> None:
        if self._handle is None:
            self._handle = cast(DisplayHandle, display(bundle, raw=True, display_id=True))
        else:
            self._handle.update(bundle, raw=True)
            self.updates += 1


class RichStreamView(LiveDisplay):
    """One display output, updated in place at most every ``interval`` seconds."""

    def __init__(self, fmt: str, interval: float, language: str = "python") -> None:
        super().__init__()
        self.fmt = fmt
        self.interval = interval
        self.language = language
        self._last = 0.0
        self._shown = ""

    def update(self, text: str) -> None:
        now = time.monotonic()
        if text == self._shown or (self._handle is not None and now - self._last < self.interval):
            return
        self._last = now
        self._shown = text
        self.show(answer_bundle(text, self.fmt, language=self.language, streaming=True))

    def finish(self, text: str, fmt: str, note: str | None = None, footer: str = "") -> None:
        self.show(answer_bundle(text, fmt, language=self.language, note=note, footer=footer))


class PlainStreamView:
    """Writes new text to stdout as it arrives (terminals, plain consoles)."""

    def __init__(self) -> None:
        self._written = ""

    def update(self, text: str) -> None:
        if text.startswith(self._written):
            sys.stdout.write(text[len(self._written) :])
        else:  # the text was revised; start a fresh line
            sys.stdout.write("\n" + text)
        sys.stdout.flush()
        self._written = text

    def finish(self, text: str, fmt: str, note: str | None = None, footer: str = "") -> None:
        if text != self._written:
            self.update(text)
        end = (f"\n{note}" if note else "") + footer + "\n"
        sys.stdout.write(end)
        sys.stdout.flush()


# --------------------------------------------------------------------------- transcripts


def transcript_bundle(
    *,
    raw: str,
    corrected: str | None,
    diff: Sequence[WordChange],
    language: str | None,
    duration: float | None,
    degraded_reason: str | None,
    pending: bool = False,
) -> Bundle:
    """Raw text, corrected text and what changed: HTML plus a plain-text twin; ``pending``:
    the correction is still streaming (``corrected`` so far, with a cursor, no changes)."""
    meta = []
    if language:
        meta.append(f"language {language}")
    if duration is not None:
        meta.append(f"{duration:.1f} s of audio")
    meta_txt = f" ({', '.join(meta)})" if meta else ""
    lines = [f"Raw{meta_txt}:", f"  {raw}"]
    rows = [("Raw" + meta_txt, html.escape(raw))]
    if corrected is not None and pending:
        lines += ["Corrected (so far):", f"  {corrected}{_CURSOR}"]
        rows.append(("Corrected (so far)", html.escape(corrected + _CURSOR)))
    elif corrected is not None:
        n = count_changes(diff)
        changes = diff_text(diff) if n else "none"
        lines += ["Corrected:", f"  {corrected}", f"Changes ({n}):", f"  {changes}"]
        rows.append(("Corrected", html.escape(corrected)))
        rows.append((f"Changes ({n})", diff_html(diff) if n else "<em>none</em>"))
    if degraded_reason:
        lines.append(f"Not corrected: {degraded_reason}")
        rows.append(("Not corrected", html.escape(degraded_reason)))
    body = "".join(
        f'<tr><th style="text-align:left;vertical-align:top;padding-right:1em">'
        f'{html.escape(head)}</th><td style="text-align:left">{cell}</td></tr>'
        for head, cell in rows
    )
    return {
        "text/html": f'<table class="neira-transcript">{body}</table>',
        "text/plain": "\n".join(lines),
    }


# --------------------------------------------------------------------------- status


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> tuple[str, str]:
    """An escaped HTML table and an aligned plain-text table of the same rows."""
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    plain = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    plain += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in cells
    )
    return f"<table><tr>{head}</tr>{body}</table>", "\n".join(plain)


def _size(n: Any) -> str:
    if not isinstance(n, (int, float)) or isinstance(n, bool):
        return ""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def _state(model: Mapping[str, Any]) -> str:
    state = str(model.get("state", "?"))
    if model.get("error"):
        state += f" ({model['error']})"
    return state


def models_bundle(status: Mapping[str, Any]) -> Bundle:
    """The configured models, their state, and which one ``auto`` picks."""
    route = status.get("route") or {}
    auto = route.get("model")
    rows = [
        (
            ("→ " if m.get("name") == auto else "") + str(m.get("name", "?")),
            m.get("kind", ""),
            m.get("role", ""),
            _state(m),
            m.get("device", ""),
            _size(m.get("memory_bytes")),
        )
        for m in status.get("models") or []
        if isinstance(m, Mapping)
    ]
    html_table, plain = _table(["model", "kind", "role", "state", "device", "memory"], rows)
    footer = f"auto → {auto}" if auto else "auto → no model can serve (degraded)"
    if route.get("reason"):
        footer += f" ({route['reason']})"
    if status.get("demo"):
        footer += "; demo models (nothing configured)"
    return {
        "text/html": f"{html_table}<p>{html.escape(footer)}</p>",
        "text/plain": f"{plain}\n{footer}",
    }


def status_bundle(status: Mapping[str, Any]) -> Bundle:
    """Models, route, queue and memory as one output."""
    models = models_bundle(status)
    route = status.get("route") or {}
    queue = status.get("queue") or {}
    lines = [
        f"neira {status.get('version', '?')}" + (" (demo models)" if status.get("demo") else ""),
        f"route: {route.get('backend', '?')} → {route.get('model') or 'none'}"
        + (f" ({route['reason']})" if route.get("reason") else ""),
        f"queue: {queue.get('running', 0)} running, {queue.get('depth', 0)} waiting, "
        f"capacity {queue.get('capacity', '?')}",
    ]
    memory = status.get("memory")
    if memory:
        lines.append("memory: " + json.dumps(memory, ensure_ascii=False, default=str))
    switches = status.get("switches")
    if switches:
        last = json.dumps(switches[-1], default=str)
        lines.append(f"route switches: {len(switches)}, last: {last}")
    plain = "\n".join(lines) + "\n\n" + models["text/plain"]
    html_lines = "".join(f"<div>{html.escape(line)}</div>" for line in lines)
    return {"text/html": html_lines + models["text/html"], "text/plain": plain}
