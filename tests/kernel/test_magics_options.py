"""The magics' options, help and settings on a bare IPython shell, with no server at all.

``%neira help`` and ``--help`` explain the magics; a bad option of
``%%neira``, ``%neira`` or ``%transcribe`` is a ``UsageError`` that says
what is wrong, never a traceback; ``%config NeiraMagics`` sets and
validates the defaults. The real server, models and kernels are exercised in
``tests/kernel/test_magics_e2e.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from neira_jupyter.kernel import widget as widget_module
from tests.support.ipython_shell import magics_of, run, shown


def test_help_explains_the_magics(shell: InteractiveShell) -> None:
    result, captured = run(shell, "%neira help")
    assert result.success
    assert "%%neira" in shown(captured)
    assert "--out VAR" in shown(captured) and "%transcribe" in shown(captured)


def test_cell_magic_option_errors_are_usage_errors(shell: InteractiveShell) -> None:
    cases = {
        "%%neira --temperature 3\nhi": "between 0 and 2",
        "%%neira --temperature warm\nhi": "must be a number",
        "%%neira --max-tokens 0\nhi": "between 1 and 8192",
        "%%neira --format yaml\nhi": "invalid choice: 'yaml'",
        "%%neira --out 1abc\nhi": "not a valid variable name",
        "%%neira --bogus\nhi": "unrecognized arguments: --bogus",
        "%%neira --system 'unbalanced\nhi": "cannot read the options",
        "%%neira\n   \n": "write the prompt in the cell body",
        "%neira frobnicate": "unknown command 'frobnicate'",
        "%neira fix abc": "optional cell number",
        "%transcribe a.wav --lang de": "invalid choice: 'de'",
    }
    for code, expected in cases.items():
        result, captured = run(shell, code)
        assert not result.success, code
        assert "UsageError" in captured.stderr and expected in captured.stderr, (
            code,
            captured.stderr,
        )
        assert "Traceback" not in captured.stderr + captured.stdout


def test_dash_h_prints_the_option_list(shell: InteractiveShell) -> None:
    result, captured = run(shell, "%%neira --help\nignored")
    assert result.success
    for option in ("--model", "--max-tokens", "--no-stream", "--chat", "--code", "--format"):
        assert option in captured.stdout


def test_config_sets_traits_and_validates(shell: InteractiveShell) -> None:
    magics = magics_of(shell)
    run(shell, "%config NeiraMagics.default_max_tokens = 64")
    run(shell, "%config NeiraMagics.default_format = 'text'")
    assert magics.default_max_tokens == 64
    assert magics.default_format == "text"
    run(shell, "%config NeiraMagics.default_max_tokens = 100000")
    assert magics.default_max_tokens == 64  # rejected, kept
    _, captured = run(shell, "%reload_ext neira_jupyter")  # the bad value stays in shell.config
    assert "ignoring the NeiraMagics settings" in captured.stderr
    assert magics_of(shell).default_max_tokens is None
    _, captured = run(shell, "%config NeiraMagics")
    assert "default_temperature" in captured.stdout and "stream_interval" in captured.stdout


def test_transcribe_without_path_and_missing_file(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, captured = run(shell, "%transcribe --lang ru --raw")
    widgets = [o for o in captured.outputs if "application/vnd.jupyter.widget-view+json" in o.data]
    assert len(widgets) == 1, captured.outputs
    assert not captured.stderr
    # an unbuilt front end (recorder.js missing) is one clear message, not a blank widget
    monkeypatch.setattr(widget_module, "_ESM", tmp_path / "recorder.js")
    _, captured = run(shell, "%transcribe")
    assert not captured.outputs
    assert "front end is not built" in captured.stderr
    assert "npm run build:recorder" in captured.stderr and "Traceback" not in captured.stderr
    _, captured = run(shell, "%transcribe /nonexistent/speech.wav")
    assert "no such audio file: /nonexistent/speech.wav" in captured.stderr
