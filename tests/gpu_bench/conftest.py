"""``benchmarks/gpu/`` is not a package: its scripts are imported from their folder."""

from __future__ import annotations

import sys
from pathlib import Path

GPU_BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu"
if str(GPU_BENCH) not in sys.path:
    sys.path.insert(0, str(GPU_BENCH))
