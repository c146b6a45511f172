"""What llama.cpp logs while a model loads: where its layers and buffers went.

llama.cpp tells nobody but its log how many layers it put on the GPU
(``load_tensors: offloaded 33/33 layers to GPU``) and how big each buffer is
(``CUDA0 model buffer size = 3922.02 MiB``). ``capture_llama_log`` points
llama.cpp's (process-wide) log callback at a list for the duration of a
``with`` block, then gives it back to llama-cpp-python's own;
``offload_of`` reads the two facts from the captured text.
"""

from __future__ import annotations

import ctypes
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["capture_llama_log", "offload_of"]

_OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")
_BUFFER = re.compile(r"(\S+) model buffer size\s*=\s*([\d.]+) MiB")
_lock = threading.Lock()


@contextmanager
def capture_llama_log() -> Iterator[list[str]]:
    """Collect llama.cpp's log lines (not printed) while the block runs."""
    import llama_cpp
    from llama_cpp import _logger

    lines: list[str] = []

    @llama_cpp.llama_log_callback
    def collect(level: int, text: bytes, user_data: Any) -> None:
        lines.append(text.decode("utf-8", "replace"))

    with _lock:
        llama_cpp.llama_log_set(collect, ctypes.c_void_p(0))
        try:
            yield lines
        finally:
            llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))


def offload_of(lines: list[str]) -> dict[str, Any]:
    """``layers_on_gpu`` and ``layers`` (None when llama.cpp said nothing: a CPU build) and
    each weight buffer's size in MiB, from a captured load log."""
    text = "".join(lines)
    found = _OFFLOADED.search(text)
    buffers: dict[str, float] = {}
    for name, size in _BUFFER.findall(text):
        buffers[name] = round(buffers.get(name, 0.0) + float(size), 1)
    return {
        "layers_on_gpu": int(found.group(1)) if found else None,
        "layers": int(found.group(2)) if found else None,
        "buffers_mib": buffers,
    }
