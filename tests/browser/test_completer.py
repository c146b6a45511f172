"""Inline code completion in a real JupyterLab: typing in a cell shows the demo model's
suggestion as ghost text, and Tab accepts it, in the light and the dark theme.

A real ``jupyter lab`` with this checkout's extensions and the demo model;
``complete.mjs`` types into a cell in headless Chromium; screenshots go to
``test-artifacts/lab-complete-{light,dark}-{suggested,accepted}.png``.
"""

from __future__ import annotations

import pytest

from tests.browser.support import (
    ARTIFACTS,
    CHROMIUM,
    THEMES,
    Server,
    code_cell,
    notebook,
    run_page_script,
)

pytestmark = [pytest.mark.browser, pytest.mark.model]


@pytest.mark.parametrize("theme", THEMES)
def test_typing_shows_a_suggestion_and_tab_accepts_it(lab: Server, theme: str) -> None:
    name = f"complete-{theme}.ipynb"
    (lab.root / name).write_text(notebook(code_cell("c1", "import numpy as np"), code_cell("c2")))
    options = {
        "theme": theme,
        "url": lab.url,
        "page": lab.page_path(name),
        "token": lab.token,
        "artifacts": str(ARTIFACTS),
        "chromium": CHROMIUM,
    }
    seen = run_page_script("complete.mjs", options)
    assert seen["ghost"].strip() == "a + b", seen
    assert seen["source"] == "def add(a, b):\n    return a + b", seen
