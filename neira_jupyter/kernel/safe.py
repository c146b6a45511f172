"""Model and transcript text made inert before a notebook renders it.

An answer is untrusted input (prompt injection, a remote backend, a spoken
transcript), yet the outputs of a cell the user ran are trusted by JupyterLab:
HTML in them runs. So:

* ``inert_markdown`` keeps Markdown formatting and code but no live HTML: in
  prose, a ``<`` that could open a tag, comment or declaration becomes
  ``&lt;`` (shown as ``<``), and links or images whose target is not http(s),
  mailto, a fragment or a relative path are disarmed. Fenced code blocks and
  inline code spans are left exactly as they are (Markdown shows them
  literally).
* ``sanitize_html`` (for ``--format html``, where the user asked for HTML)
  goes through nh3, the Python binding of the Ammonia sanitizer: a safelist
  of tags and attributes, no scripts, no event handlers, safe URL schemes.
"""

from __future__ import annotations

import re

import nh3

__all__ = ["inert_markdown", "sanitize_html"]

# fenced blocks (``` or ~~~, closed or running to the end while streaming), then code spans
_CODE = re.compile(
    r"(?P<fence>^[ \t]{0,3}(?P<mark>`{3,}|~{3,})[^\n]*\n.*?(?:^[ \t]{0,3}(?P=mark)[ \t]*$|\Z))"
    r"|(?P<span>(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`))",
    re.DOTALL | re.MULTILINE,
)
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
# a link or image target ``](scheme:`` or a reference definition ``[id]: scheme:``
_SAFE = r"(?!https?:|mailto:)"
_LINK_TARGET = re.compile(
    rf"(\]\(\s*<?|^[ \t]{{0,3}}\[[^\]\n]+\]:[ \t]*<?){_SAFE}([A-Za-z][\w+.-]*:)",
    re.IGNORECASE | re.MULTILINE,
)


def _inert_prose(text: str) -> str:
    text = _LINK_TARGET.sub(lambda m: f"{m.group(1)}#unsafe-{m.group(2)[:-1]}-", text)
    return _TAG_OPEN.sub("&lt;", text)


def inert_markdown(text: str) -> str:
    """``text`` as Markdown that renders its formatting and code but runs nothing."""
    out: list[str] = []
    last = 0
    for match in _CODE.finditer(text):
        out.append(_inert_prose(text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_inert_prose(text[last:]))
    return "".join(out)


def sanitize_html(text: str) -> str:
    """``text`` with everything that could run removed (nh3's safelist)."""
    return nh3.clean(text, url_schemes={"http", "https", "mailto"})
