"""``python -m neira_jupyter.doctor``: the same as ``jupyter neira doctor``."""

from __future__ import annotations

from .app import main

raise SystemExit(main())
