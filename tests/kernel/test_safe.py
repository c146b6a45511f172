"""Model output is inert: no live HTML in Markdown answers, sanitized HTML, code kept as is."""

from __future__ import annotations

import pytest

from neira_jupyter.kernel.render import answer_bundle
from neira_jupyter.kernel.safe import inert_markdown, sanitize_html

ATTACK = 'Here you go <img src=x onerror="document.title=\'pwned\'"> and <script>alert(1)</script>'


@pytest.mark.parametrize("streaming", [False, True])
def test_markdown_answers_carry_no_live_html(streaming: bool) -> None:
    bundle = answer_bundle(ATTACK, "markdown", streaming=streaming)
    markdown = bundle["text/markdown"]
    assert "<img" not in markdown and "<script" not in markdown
    assert "&lt;img" in markdown and "&lt;script" in markdown
    assert bundle["text/plain"].startswith(ATTACK)  # the plain twin is the text itself


def test_code_is_left_exactly_as_written() -> None:
    text = (
        "Use this:\n\n```html\n<b onclick=\"x()\">bold</b> & a < b\n```\n\n"
        "Inline `<div>` too, while <i>this</i> is escaped."
    )
    out = inert_markdown(text)
    assert '```html\n<b onclick="x()">bold</b> & a < b\n```' in out
    assert "`<div>`" in out
    assert "&lt;i>this&lt;/i>" in out


def test_an_unclosed_fence_while_streaming_stays_code() -> None:
    text = "Start:\n```python\nprint('<b>')"
    assert inert_markdown(text) == text


def test_ordinary_markdown_is_unchanged() -> None:
    text = "# Title\n\n- a < b and c > d\n> quoted\n\n**bold** [site](https://example.org)"
    assert inert_markdown(text) == text


@pytest.mark.parametrize(
    "link",
    [
        "[click](javascript:alert(1))",
        "![img](data:text/html;base64,PHNjcmlwdD4=)",
        "[click]( <vbscript:msgbox(1)>)",
        "[ref]: javascript:alert(1)",
    ],
)
def test_links_that_run_code_are_disarmed(link: str) -> None:
    out = inert_markdown(link)
    assert "javascript:" not in out and "data:" not in out and "vbscript:" not in out
    assert "#unsafe-" in out


def test_html_format_is_sanitized() -> None:
    bundle = answer_bundle(ATTACK + " <b>kept</b>", "html")
    html = bundle["text/html"]
    assert "onerror" not in html and "<script" not in html
    assert "<b>kept</b>" in html
    link = sanitize_html('<a href="javascript:alert(1)">x</a>')
    assert link == '<a rel="noopener noreferrer">x</a>'


def test_code_format_cannot_break_out_of_its_fence() -> None:
    code = "````\n</code><img src=x onerror=alert(1)>\n````"
    bundle = answer_bundle(f"```\n{code}\n```", "code")
    fence = bundle["text/markdown"].split("\n", 1)[0]
    assert fence.startswith("`````")
    assert bundle["text/markdown"].rstrip().endswith("`" * len(fence.rstrip("python")))
