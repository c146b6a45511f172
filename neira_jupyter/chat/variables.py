"""The kernel's variables for the chat: one silent, bounded look into the user's kernel.

``kernel_variables`` sends ``context/kernel_probe.py``'s source to the notebook's
kernel as a *user expression* of an empty, silent execution
(``silent=True``, ``store_history=False``): the kernel's execution count,
``In``, ``Out`` and ``_`` do not change, nothing is printed, and the
notebook shows nothing. The probe never runs the ``__repr__`` of an unknown
object and stops itself after ``budget_s`` (an alarm in the kernel's main
thread); here the answer is awaited at most ``timeout_s``, then given up
(the chat goes on without variables). A busy kernel is not asked at all:
the request would wait behind the running cell.
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient

from ..context import kernel_probe
from ..context.variables import KernelVariables, variables_from_probe

PROBE_SOURCE = Path(kernel_probe.__file__).read_text(encoding="utf-8")


def probe_expression(budget_s: float, max_chars: int) -> str:
    """The user expression that runs the probe in a namespace of its own."""
    call = f"g['describe'](ip.user_ns, ip.user_ns_hidden, {budget_s!r}, {max_chars!r})"
    return (
        f"(lambda g, ip: (exec(g['__source__'], g), {call})[1])"
        f"({{'__source__': {PROBE_SOURCE!r}, '__name__': '__neira_probe__'}}, get_ipython())"
    )


def parse_reply(reply: dict[str, Any]) -> KernelVariables:
    """The probe's answer from an ``execute_reply``'s ``user_expressions``."""
    content = reply.get("content", {})
    result = content.get("user_expressions", {}).get("neira", {})
    if content.get("status") != "ok" or result.get("status") != "ok":
        name = result.get("ename") or content.get("ename") or "error"
        return KernelVariables(note=f"the kernel could not list its variables ({name})")
    try:
        text = ast.literal_eval(result["data"]["text/plain"])
    except (KeyError, ValueError, SyntaxError, TypeError):
        return KernelVariables(note="the kernel's answer was not understood")
    return variables_from_probe(str(text))


async def kernel_variables(
    kernel_manager: Any,
    kernel_id: str,
    timeout_s: float = 3.0,
    budget_s: float = kernel_probe.BUDGET_S,
    max_chars: int = kernel_probe.MAX_CHARS,
) -> KernelVariables:
    """Ask the running kernel ``kernel_id`` (of this server) to describe its variables."""
    try:
        kernel = kernel_manager.get_kernel(kernel_id)
    except KeyError:
        return KernelVariables(note="the notebook's kernel is not running")
    if getattr(kernel, "execution_state", "idle") == "busy":
        return KernelVariables(note="the kernel is busy; variables were not read")
    client = AsyncKernelClient()  # a session of its own: the manager's may be in use
    client.load_connection_info(kernel.get_connection_info())
    client.start_channels(iopub=False, stdin=False, hb=False, control=False)
    try:
        msg_id = client.execute(
            "",
            silent=True,
            store_history=False,
            user_expressions={"neira": probe_expression(budget_s, max_chars)},
            allow_stdin=False,
        )
        return await asyncio.wait_for(_reply(client, msg_id), timeout_s)
    except TimeoutError:
        return KernelVariables(note=f"the kernel did not answer within {timeout_s:g} s")
    finally:
        client.stop_channels()


async def _reply(client: Any, msg_id: str) -> KernelVariables:
    while True:
        reply = await client.get_shell_msg(timeout=None)
        if reply.get("parent_header", {}).get("msg_id") == msg_id:
            return parse_reply(reply)
