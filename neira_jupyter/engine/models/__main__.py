"""``python -m neira_jupyter.engine.models``: the same as ``jupyter neira models``."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
