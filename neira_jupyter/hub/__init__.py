"""The neira engine as a JupyterHub service (``python -m neira_jupyter.hub``); see docs/hub.md."""

from __future__ import annotations
