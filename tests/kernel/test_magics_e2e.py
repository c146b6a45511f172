"""The magics end to end: a real jupyter server with the extension and the demo models,
a real kernel launched by that server, driven over the server's kernel WebSocket.

The kernel is started the way JupyterLab starts one (``POST api/sessions`` for a
notebook path), so it has ``JPY_PARENT_PID`` (this test process, which runs the
server) and ``JPY_SESSION_NAME`` and nothing else: the magics must find the
server through ``jpserver-<pid>.json`` in the runtime dir, as in real use.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import nbformat

from neira_jupyter.engine.models import DEMO_LLM_NAME
from tests.conftest import Fetch, get_status
from tests.server.test_metrics import moved, scrape
from tests.support.audio_fixtures import SENTENCES, speak
from tests.support.kernels import USER_FACING_ERRORS, Execution, ServerKernel, neira_kernel
from tests.support.prompts import COUNTING

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart.ipynb"


async def test_streaming_out_interpolation_code_and_discovery(
    kernel_env: None, jp_fetch: Fetch, jp_ws_fetch: Any, jp_runtime_dir: Path
) -> None:
    async with neira_kernel(jp_fetch, jp_ws_fetch) as kernel:
        assert (jp_runtime_dir / f"jpserver-{os.getpid()}.json").exists()
        await _streaming_out_interpolation_code(kernel)


async def _streaming_out_interpolation_code(kernel: ServerKernel) -> None:
    setup = await kernel.execute(
        "import os\n"
        "from neira_jupyter.kernel.client import NeiraClient\n"
        "print(NeiraClient.discover().source, os.environ.get('NEIRA_URL'))\n"
        "%config NeiraMagics.stream_interval = 0.0\n"
        "animal = 'zebra'"
    )
    assert setup.ok, setup.describe()
    assert re.search(r"jpserver-\d+\.json None", setup.stdout), setup.stdout

    run = await kernel.execute(
        f"%%neira --out answer --max-tokens 24 --temperature 0 --seed 1\n{COUNTING} ({{animal}})"
    )
    assert run.ok, run.describe()
    displays = run.of_type("display_data", "update_display_data")
    assert displays[0]["msg_type"] == "display_data"
    display_id = displays[0]["content"]["transient"]["display_id"]
    assert {m["content"]["transient"]["display_id"] for m in displays} == {display_id}
    updates = [m["content"] for m in displays[1:]]
    assert len(updates) >= 2  # streamed: several in-place updates before the final answer
    final = updates[-1]["data"]["text/markdown"]
    partial = updates[0]["data"]["text/plain"]
    assert partial.endswith("▌") and len(partial.rstrip(" ▌")) < len(final)

    check = await kernel.execute(
        "print(type(answer).__name__, answer.finish_reason, answer.model, answer.route)\n"
        "print(answer.usage['completion_tokens'], 'zebra' in answer.prompt)\n"
        "print(repr(answer.text))"
    )
    assert check.ok, check.describe()
    lines = check.stdout.splitlines()
    assert lines[0].startswith("NeiraResult ") and lines[0].split()[1] in {"stop", "length"}
    assert lines[0].split()[2] == DEMO_LLM_NAME and lines[0].split()[3] == "primary"
    tokens, interpolated = lines[1].split()
    assert 1 <= int(tokens) <= 24 and interpolated == "True"
    assert eval(lines[2]) == final  # the stored text is what the cell shows

    code = await kernel.execute(
        "%%neira --code --max-tokens 16 --temperature 0 --seed 1\nPrint hello in Python."
    )
    assert code.ok, code.describe()
    payloads = code.reply.get("payload", [])
    assert [p["source"] for p in payloads] == ["set_next_input"]
    assert payloads[0]["replace"] is False


async def test_chat_carries_context_to_the_next_cell(
    kernel_env: None, jp_fetch: Fetch, jp_ws_fetch: Any
) -> None:
    async with neira_kernel(jp_fetch, jp_ws_fetch) as kernel:
        await _chat(kernel)


async def _chat(kernel: ServerKernel) -> None:
    await kernel.execute("%config NeiraMagics.default_max_tokens = 8")
    first = await kernel.execute("%%neira --chat --temperature 0\nMy name is Zanzibar.")
    assert first.ok, first.describe()
    second = await kernel.execute(
        "%%neira --chat --temperature 0 --out with_context\nWhat is my name?"
    )
    alone = await kernel.execute("%%neira --temperature 0 --out without\nWhat is my name?")
    assert second.ok and alone.ok, second.describe() + alone.describe()
    check = await kernel.execute(
        "m = get_ipython().magics_manager.registry['NeiraMagics']\n"
        "print([x['content'] for x in m.chats.messages(m.chat_key)][::2], m.chat_key)\n"
        "print(with_context.usage['prompt_tokens'], without.usage['prompt_tokens'])"
    )
    assert check.ok, check.describe()
    history, tokens = check.stdout.splitlines()
    assert history.startswith("['My name is Zanzibar.', 'What is my name?'] ")
    assert history.endswith("/work/e2e.ipynb")  # one conversation per notebook
    with_context, without = map(int, tokens.split())
    assert with_context > without  # the earlier exchange reached the model
    reset = await kernel.execute("%neira reset\n%neira status")
    assert "conversation cleared (4 messages forgotten)" in reset.stdout


async def test_interrupt_cancels_on_the_server_and_keeps_partial_output(
    kernel_env: None, jp_fetch: Fetch, jp_ws_fetch: Any
) -> None:
    async with neira_kernel(jp_fetch, jp_ws_fetch) as kernel:
        await _interrupt(kernel, jp_fetch)


async def _interrupt(kernel: ServerKernel, jp_fetch: Fetch) -> None:
    await kernel.execute("%config NeiraMagics.stream_interval = 0.0")
    interrupted: list[bool] = []

    async def interrupt_after_some_tokens(message: dict[str, Any]) -> None:
        if message["msg_type"] == "update_display_data" and not interrupted:
            status = await get_status(jp_fetch)
            assert status["queue"]["running"] == 1  # the generation is running now
            interrupted.append(True)
            await kernel.interrupt()

    run = await kernel.execute(
        f"%%neira --out partial --max-tokens 1500 --temperature 0\n{COUNTING}",
        on_message=interrupt_after_some_tokens,
    )
    assert interrupted
    assert run.reply["status"] == "error" and run.reply["ename"] == "GenerationStopped"
    final = run.displays()[-1]["data"]
    assert final["text/markdown"].endswith("*[stopped]*")
    assert final["text/plain"].removesuffix("\n[stopped]").strip()  # partial text kept
    status = await get_status(jp_fetch)
    assert status["queue"]["running"] == 0 and status["queue"]["depth"] == 0
    check = await kernel.execute(
        "print(partial.finish_reason, partial.usage == {}, len(partial.text) > 0)\n"
        "print(partial.usage.get('completion_tokens', 0) < 1500)"
    )
    # the server's own final word on the cancelled generation is kept
    assert check.stdout.split() == ["cancelled", "False", "True", "True"], check.stdout
    again = await kernel.execute("%%neira --max-tokens 2 --temperature 0\nSay hi.")
    assert again.ok, again.describe()  # the kernel and the server go on serving

    # --no-stream: the kernel waits for the whole answer; an interrupt cancels it too
    waited: list[bool] = []

    async def interrupt_while_running(message: dict[str, Any]) -> None:
        if message["msg_type"] == "execute_input":
            await wait_queue(jp_fetch, running=1)
            waited.append(True)
            await kernel.interrupt()

    blocked = await kernel.execute(
        f"%%neira --no-stream --max-tokens 1500 --temperature 0\n{COUNTING}",
        on_message=interrupt_while_running,
    )
    assert waited and blocked.reply["ename"] == "GenerationStopped"
    assert "[stopped] before the answer arrived" in blocked.stderr
    status = await wait_queue(jp_fetch, running=0)
    assert status["queue"]["running"] == 0 and status["queue"]["depth"] == 0


async def wait_queue(jp_fetch: Fetch, running: int, timeout: float = 60.0) -> dict[str, Any]:
    """Poll the server's status until ``running`` generations run (a wait, not a timing check)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        status = await get_status(jp_fetch)
        if status["queue"]["running"] == running or loop.time() > deadline:
            return status
        await asyncio.sleep(0.05)


async def test_transcribe_shows_raw_corrected_and_diff(
    kernel_env: None, jp_fetch: Fetch, jp_ws_fetch: Any, audio_dir: Path
) -> None:
    async with neira_kernel(jp_fetch, jp_ws_fetch) as kernel:
        await _transcribe(kernel, audio_dir)


async def _transcribe(kernel: ServerKernel, audio_dir: Path) -> None:
    speech = "The quick brown fox jumps over the lazy dog. " + SENTENCES["en"][1]
    wav = speak(speech, "en", audio_dir)
    run = await kernel.execute(f"%transcribe {wav} --lang en --out heard")
    assert run.ok, run.describe()
    displays = run.of_type("display_data", "update_display_data")
    assert [m["msg_type"] for m in displays[:2]] == ["display_data", "update_display_data"]
    assert len({m["content"]["transient"]["display_id"] for m in displays}) == 1
    # the raw transcript at once, then the corrected text growing before the final view
    progress = [m["content"]["data"]["text/plain"] for m in displays[:-1]]
    assert all("Corrected (so far):" in p and p.endswith("▌") for p in progress), progress
    grown = [len(p.rstrip(" ▌").split("Corrected (so far):")[1].strip()) for p in progress]
    assert grown[0] == 0 and grown == sorted(grown) and grown[-1] > 0, progress
    data = run.displays()[-1]["data"]
    html_out, plain = data["text/html"], data["text/plain"]
    heard_words = set(re.findall(r"[a-z]+", plain.lower()))
    assert len(heard_words & {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog"}) >= 4
    assert "<th" in html_out and "Corrected" in html_out and "Changes (" in html_out
    assert re.search(r"Raw \(language en, \d+\.\d s of audio\):", plain)
    assert "Corrected:" in plain and re.search(r"Changes \(\d+\):", plain)
    check = await kernel.execute(
        "print(heard.corrected, bool(heard.raw), len(heard.diff) > 0, heard.language)"
    )
    assert check.stdout.split() == ["True", "True", "True", "en"]
    raw_only = await kernel.execute(f"%transcribe {wav} --raw")
    plain_raw = raw_only.displays()[-1]["data"]["text/plain"]
    assert "Raw" in plain_raw and "Corrected" not in plain_raw


async def test_neira_fix_answers_from_the_error_and_the_variables(
    kernel_env: None, jp_fetch: Fetch, jp_ws_fetch: Any
) -> None:
    """``%neira fix`` asks the chat's question with the chat's context: the demo model's answer
    is about the error, its footer names the error and ``df``, and its code is offered as the
    next cell; ``Out`` and ``_`` are as they were."""
    async with neira_kernel(jp_fetch, jp_ws_fetch) as kernel:
        setup = await kernel.execute(
            "%config NeiraMagics.stream_interval = 0.0\n"
            "%config NeiraMagics.default_temperature = 0.0\n"
            "import pandas as pd\n"
            'df = pd.DataFrame({"alpha": [1, 2, 3], "beta": [0.5, 1.5, 2.5]})'
        )
        assert setup.ok, setup.describe()
        assert not (await kernel.execute('df["gamma"]')).ok
        before = (await kernel.execute("print(sorted(Out), repr(_))")).stdout
        fix = await kernel.execute("%neira fix")
        assert fix.ok, fix.describe()
        assert len(fix.of_type("update_display_data")) >= 2  # it streamed
        body, footer = fix.displays()[-1]["data"]["text/markdown"].split("\n\n---\n")
        assert re.fullmatch(r"\*used: \d+ cells, the last error, df\*", footer), footer
        assert "gamma" in body or "KeyError" in body, body
        blocks = re.findall(r"```(?:python)?\n(.*?)\n```", body, flags=re.S)
        assert blocks, body  # the question asks for the fixed code
        payloads = fix.reply.get("payload", [])
        assert [(p["source"], p["text"], p["replace"]) for p in payloads] == [
            ("set_next_input", blocks[-1], False)
        ]
        assert (await kernel.execute("print(sorted(Out), repr(_))")).stdout == before


async def test_interrupting_transcribe_cancels_the_correction(
    kernel_env: None, jp_fetch: Fetch, jp_ws_fetch: Any, audio_dir: Path
) -> None:
    async with neira_kernel(jp_fetch, jp_ws_fetch) as kernel:
        await _interrupt_transcribe(kernel, jp_fetch, audio_dir)


async def _interrupt_transcribe(kernel: ServerKernel, jp_fetch: Fetch, audio_dir: Path) -> None:
    wav = speak(" ".join(SENTENCES["en"][1:4]), "en", audio_dir)
    before, _ = await scrape(jp_fetch)
    interrupted: list[bool] = []

    async def interrupt_while_correcting(message: dict[str, Any]) -> None:
        if message["msg_type"] == "display_data" and not interrupted:
            await wait_queue(jp_fetch, running=1)  # the first sentence's correction runs
            interrupted.append(True)
            await kernel.interrupt()

    run = await kernel.execute(
        f"%transcribe {wav} --lang en --out heard", on_message=interrupt_while_correcting
    )
    assert interrupted
    assert run.reply["status"] == "error" and run.reply["ename"] == "GenerationStopped"
    final = run.displays()[-1]["data"]["text/plain"]
    assert "Not corrected: stopped before the rest was corrected" in final
    assert final.split("Raw (language en")[1].split("\n")[1].strip()  # what was heard is kept
    status = await wait_queue(jp_fetch, running=0)
    assert status["queue"]["running"] == 0 and status["queue"]["depth"] == 0
    after, _ = await scrape(jp_fetch)
    assert moved(before, after, "neira_generations_total", finish_reason="cancelled") >= 1
    assert moved(before, after, "neira_corrections_total") < 3


async def test_quickstart_notebook_runs_in_a_server_kernel(
    kernel_env: None, jp_fetch: Fetch, jp_ws_fetch: Any
) -> None:
    # a fresh kernel, run top to bottom: the notebook's {In[n]}/{Err[n]} numbers hold
    async with neira_kernel(jp_fetch, jp_ws_fetch, load=False) as kernel:
        await _quickstart(kernel)


async def _quickstart(kernel: ServerKernel) -> None:
    notebook = nbformat.read(QUICKSTART, as_version=4)
    runs: list[tuple[str, Execution]] = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        run = await kernel.execute(cell.source)
        runs.append((cell.source, run))
        expected_error = "raises-exception" in cell.metadata.get("tags", [])
        assert run.ok != expected_error, (cell.source, run.describe())
        for message in USER_FACING_ERRORS:
            assert message not in run.stderr, (cell.source, run.stderr)
    assert len(runs) >= 20
    shown = {source.splitlines()[0]: run for source, run in runs}
    assert "route:" in shown["%neira status"].displays()[-1]["data"]["text/plain"]
    streamed = [r for s, r in runs if s.startswith("%%neira") and "--no-stream" not in s]
    assert all(r.of_type("update_display_data") for r in streamed)
    prompt = shown["print(about_city.prompt)"].stdout
    assert "Lisbon" in prompt and "{1, 2}" in prompt
    fix = shown["%neira fix"].displays()[-1]["data"]["text/plain"]
    # the answer is about the error it was sent (the KeyError of prices["banana"])
    assert "banana" in fix or "KeyError" in fix, fix
    transcript = shown["%transcribe speech.wav --lang en --out heard"].displays()[-1]["data"]
    assert "Corrected" in transcript["text/html"] and "Changes (" in transcript["text/html"]
    code_run = next(r for s, r in runs if s.startswith("%%neira --code"))
    assert [p["source"] for p in code_run.reply.get("payload", [])] == ["set_next_input"]
