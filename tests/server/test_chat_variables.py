"""The chat's look into a kernel (``chat.variables``), real ipykernel: bounded, no side effects.

A variable whose ``__repr__`` never returns, or returns 50 MB, is listed by
type and does not hang the look or the kernel; the kernel's execution
count, ``In``, ``Out`` and ``_`` are the same after the look; a DataFrame
shows its columns and dtypes; a busy kernel is not asked.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from jupyter_client.multikernelmanager import AsyncMultiKernelManager

from neira_jupyter.chat.variables import kernel_variables

SETUP = """
import pandas as pd
class Forever:
    def __repr__(self):
        while True:
            pass
class Huge:
    def __repr__(self):
        return "x" * 50_000_000
forever = Forever()
huge = Huge()
stuck = [1, Forever(), "ok"]
df = pd.DataFrame({"alpha": [1, 2, 3], "beta": ["a", "b", Forever()]})
df.shape
"""

STATE = "(get_ipython().execution_count, len(In), sorted(Out), repr(_)[:40])"


class Kernels:
    def __init__(self, manager: AsyncMultiKernelManager, kernel_id: str) -> None:
        self.manager = manager
        self.kernel_id = kernel_id
        kernel: Any = manager.get_kernel(kernel_id)
        self.client = kernel.client()

    async def run(self, code: str, **kwargs: Any) -> dict[str, Any]:
        reply: dict[str, Any] = await self.client.execute_interactive(
            code, timeout=60, output_hook=lambda msg: None, **kwargs
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        return reply

    async def state(self) -> Any:
        reply = await self.run("", silent=True, store_history=False,
                               user_expressions={"s": STATE})  # fmt: skip
        return ast.literal_eval(reply["content"]["user_expressions"]["s"]["data"]["text/plain"])


@contextlib.asynccontextmanager
async def started_kernel() -> AsyncIterator[Kernels]:
    manager = AsyncMultiKernelManager()
    kernel_id = await manager.start_kernel(kernel_name="python3")
    kernels = Kernels(manager, kernel_id)
    kernels.client.start_channels()
    await kernels.client.wait_for_ready(timeout=60)
    try:
        yield kernels
    finally:
        kernels.client.stop_channels()
        await manager.shutdown_all(now=True)


async def test_bad_reprs_do_not_hang_and_history_is_unchanged() -> None:
    async with started_kernel() as kernel:
        await check_bad_reprs(kernel)


async def check_bad_reprs(kernel: Kernels) -> None:
    await kernel.run(SETUP)
    before = await kernel.state()
    found = await kernel_variables(kernel.manager, kernel.kernel_id, timeout_s=20)
    assert found.note == ""
    listed = dict(line.split(": ", 1) for line in found.lines)
    assert listed["forever"] == "Forever, <Forever>"
    assert listed["huge"] == "Huge, <Huge>"
    assert "<Forever>" in listed["stuck"] and "'ok'" in listed["stuck"]
    assert "'alpha' (int64)" in listed["df"] and "'beta' (object)" in listed["df"]
    assert len(found.lines[0]) < 2_000 and sum(map(len, found.lines)) < 8_000
    assert await kernel.state() == before  # no count, In, Out or _ changed
    await kernel.run("after = 1 + 1")  # the kernel still answers
    assert (await kernel.state())[0] == before[0] + 1


async def test_a_busy_kernel_is_not_asked() -> None:
    class Busy:
        execution_state = "busy"

    class Manager:
        def get_kernel(self, kernel_id: str) -> Busy:
            return Busy()

    found = await kernel_variables(Manager(), "0000")
    assert found.lines == [] and "busy" in found.note


async def test_an_unknown_kernel_is_a_note() -> None:
    found = await kernel_variables(AsyncMultiKernelManager(), "0000-not-a-kernel")
    assert found.lines == [] and "not running" in found.note
