"""The ``jupyter-neira`` entry point: ``jupyter neira models ...`` or the server app.

``jupyter neira models list|download|verify|remove`` goes to
``neira_jupyter.engine.models.cli``, ``jupyter neira doctor`` to
``neira_jupyter.doctor.app``; every other command line goes to the
server application's ``neira_jupyter.server.app:main`` unchanged.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int | None:
    """Dispatch on the first argument."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["models"]:
        from .engine.models.cli import main as models_main

        return models_main(args[1:])
    if args[:1] == ["doctor"]:
        from .doctor.app import main as doctor_main

        return doctor_main(args[1:])
    from .server.app import main as app_main

    app_main(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
