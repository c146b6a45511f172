"""Inline code completion in a real JupyterLab: typing in a cell shows the demo model's
suggestion as ghost text, and Tab accepts it, in the light and the dark theme; typing on
cancels the suggestion in flight on the server; a file editor gets suggestions too.

A real ``jupyter lab`` with this checkout's extensions and the demo model;
``complete.mjs`` types into a cell in headless Chromium; screenshots go to
``test-artifacts/lab-complete-{light,dark}-{suggested,accepted}.png`` (and
``lab-complete-{typing-on,file}-*.png``).
"""

from __future__ import annotations

import re
import urllib.request

import pytest

from tests.browser.support import THEMES, Server, code_cell, notebook, type_and_accept

pytestmark = [pytest.mark.browser, pytest.mark.model]


ADDED = "def add(a, b):\n    return a + b"  # what complete.mjs types, and the suggestion


def cancelled_generations(server: Server) -> float:
    """``neira_generations_total`` with ``finish_reason="cancelled"``, from ``/metrics``."""
    request = urllib.request.Request(
        server.url + "metrics", headers={"Authorization": f"token {server.token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    pattern = r'^neira_generations_total\{[^}]*finish_reason="cancelled"[^}]*\} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, text, re.MULTILINE))


@pytest.mark.parametrize("theme", THEMES)
def test_typing_shows_a_suggestion_and_tab_accepts_it(lab: Server, theme: str) -> None:
    name = f"complete-{theme}.ipynb"
    (lab.root / name).write_text(notebook(code_cell("c1", "import numpy as np"), code_cell("c2")))
    seen = type_and_accept(lab, name, theme)
    assert seen["ghost"].strip() == "a + b", seen
    assert seen["source"] == ADDED, seen


def test_typing_on_cancels_the_suggestion_in_flight(lab: Server) -> None:
    """``return `` typed one key every 400 ms: each pause passes the 250 ms debounce, so
    each key asks for a completion, and the next key, 150 ms later, closes it; the
    server ends those cancelled. The last one is shown and accepted."""
    name = "complete-typing-on.ipynb"
    # ~5,000 characters of earlier code: the first completions read ~1,500 tokens of context,
    # far longer than the 150 ms until the next key, so they are in flight when it comes
    helpers = [f"def add_{i}(x):\n    return x + {i}\n" for i in range(160)]
    (lab.root / name).write_text(notebook(code_cell("c1", *helpers), code_cell("c2")))
    before = cancelled_generations(lab)
    seen = type_and_accept(lab, name, "light", keyDelay=400, name="lab-complete-typing-on")
    assert seen["requests"] >= 6, seen  # "return " asked at each key
    assert cancelled_generations(lab) - before >= 1, seen
    assert seen["ghost"].strip() == "a + b", seen
    assert seen["source"] == ADDED, seen


def test_a_file_editor_gets_suggestions_too(lab: Server) -> None:
    (lab.root / "add.py").write_text("")
    seen = type_and_accept(lab, "add.py", "dark", editor="file", name="lab-complete-file")
    assert seen["ghost"].strip() == "a + b", seen
    assert seen["source"] == ADDED, seen
