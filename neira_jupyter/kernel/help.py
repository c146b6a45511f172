"""The text of ``%neira help``: every magic, its options and the settings, in one table."""

from __future__ import annotations

from .arguments import MAX_TOKENS_RANGE, TEMPERATURE_RANGE

__all__ = ["HELP"]

_TEXT = """\
**neira** — a local assistant that runs in this Jupyter server.

`%%neira [options]` — the cell body is the prompt; the answer streams into the output.

| option | |
|---|---|
| `--model NAME\\|auto` | a configured model (`%neira models` lists them) |
| `--temperature T` | TEMPERATURE_RANGE |
| `--max-tokens N` | MAX_TOKENS_RANGE |
| `--system TEXT` | a system message |
| `--format F` | markdown (default), code, text, json (constrained to JSON), html, math |
| `--no-stream` | show the answer only when it is complete |
| `--out VAR` | store a `NeiraResult` (text, model, route, usage, timings) in `VAR` |
| `--chat` | continue this notebook's conversation (`%neira reset` clears it) |
| `--code` | put the generated code into a new cell below |
| `--seed N` | a sampling seed |

In the prompt, `{name}` is replaced by a variable, `{In[3]}`, `{Out[3]}` and `{Err[3]}`
by cell 3's input, output and error; `{{` and `}}` are literal braces.
The stop button cancels the generation on the server and keeps the partial answer.

`%transcribe PATH [--lang ru|en|auto] [--raw] [--out VAR]` — speech to text: the raw text
at once, the corrected text growing sentence by sentence, then a word diff of what the
correction changed (`--raw`: no correction). Without PATH: the recording widget.

`%neira fix [N]` — explain and fix the last error (or cell N's), asked as the chat's
Explain / fix asks: the cell, its traceback, your variables and the nearby cells go along,
the answer ends with what it used, and its last code block becomes a new cell below
(`%config NeiraMagics.fix_next_cell = False` turns that off).

`%neira status` (models, route, memory, queue) · `%neira models` · `%neira reset` · `%neira help`

Settings: `%config NeiraMagics` lists them, e.g. `%config NeiraMagics.default_max_tokens = 256`.
The server is found automatically in a kernel started by Jupyter; elsewhere set
`NEIRA_URL` and `NEIRA_TOKEN`.
"""

# the ranges the server enforces (the protocol's), not restated here
HELP = _TEXT.replace("TEMPERATURE_RANGE", "{:g}..{:g}".format(*TEMPERATURE_RANGE)).replace(
    "MAX_TOKENS_RANGE", "{}..{}".format(*MAX_TOKENS_RANGE)
)
