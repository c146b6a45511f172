"""``python -m neira_jupyter.hub``: run the shared neira service."""

from __future__ import annotations

from .service import main

if __name__ == "__main__":
    main()
