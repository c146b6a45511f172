"""Checks on what drive.mjs reports about colours and keyboard focus (see page.mjs)."""

from __future__ import annotations

import re
from typing import Any


def rgb(css: str) -> tuple[float, float, float, float]:
    """``rgb(...)`` / ``rgba(...)`` as (r, g, b, alpha)."""
    parts = [float(p) for p in re.findall(r"[\d.]+", css)]
    assert len(parts) in (3, 4), css
    return (parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else 1.0)


def brightness(css: str) -> float:
    """Mean channel value 0-255 (alpha ignored)."""
    r, g, b, _ = rgb(css)
    return (r + g + b) / 3


def assert_theme(report: dict[str, Any], theme: str) -> dict[str, str]:
    """The page runs ``theme``; returns its resolved theme variables."""
    assert report["light"] is (theme == "light"), report
    variables: dict[str, str] = report["vars"]
    if theme == "light":
        assert brightness(variables["layout-color1"]) > 200, variables
    else:
        assert brightness(variables["layout-color1"]) < 60, variables
    return variables


def assert_surface(report: dict[str, Any], key: str, theme: str) -> None:
    """Element ``key`` is drawn with the theme's background and text colours."""
    variables = assert_theme(report, theme)
    element = report["elements"][key]
    assert element["background"] == variables["layout-color1"], (key, element, variables)
    assert element["color"] == variables["ui-font-color1"], (key, element, variables)


def assert_status_item(report: dict[str, Any], theme: str) -> None:
    """The status item's text colour is the theme's: normal, warning or error by its state."""
    variables = assert_theme(report, theme)
    item = report["elements"]["status"]
    route, pressure = item["data"].get("route"), item["data"].get("pressure")
    if route == "degraded" or pressure == "critical":
        expected = variables["error-color1"]
    elif route == "fallback" or pressure == "high":
        expected = variables["warn-color1"]
    else:
        expected = variables["ui-font-color1"]
    assert item["color"] == expected, (item, variables)


def assert_focus_ring(focus: dict[str, Any]) -> None:
    """Tab reached the target, a labelled <button>, drawn with the theme's brand-colour ring."""
    assert focus["isTarget"], focus
    assert focus["tag"] == "BUTTON" and focus["ariaLabel"], focus
    assert focus["outlineStyle"] == "solid" and focus["outlineWidth"] == "2px", focus
    assert focus["outlineColor"] == focus["brand"], focus
