"""A memory reading in a file (``memory_file``), as the tests feed the engine's pressure watch.

The watch reads the file's free MiB where a real machine would ask NVML; the
tests set it with ``write_memory`` to make memory plentiful or scarce.
"""

from __future__ import annotations

import json
from pathlib import Path

PLENTY, SCARCE, RECOVERED = 8000, 1000, 6000  # MiB free; the tests' thresholds are 2000 / 4000

def write_memory(path: Path, free_mib: float) -> None:
    """Write a reading of ``free_mib`` free, atomically."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"device": "cuda:0", "free_mib": free_mib, "total_mib": 16000}))
    tmp.replace(path)  # atomic: the watch never reads half a file
