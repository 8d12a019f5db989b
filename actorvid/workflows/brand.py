"""A client's brand guidelines, read for rendering decisions. Pure functions only."""

from __future__ import annotations

import re
from typing import Any

_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def hex_color(value: object) -> str | None:
    """``rrggbb`` of a ``#rgb``/``#rrggbb`` string, else None. Colour names and other syntaxes
    are refused: the value is user data and ends up in an ffmpeg filter."""
    if not isinstance(value, str):
        return None
    match = _HEX.fullmatch(value.strip())
    if not match:
        return None
    digits = match.group(1).lower()
    return "".join(c * 2 for c in digits) if len(digits) == 3 else digits


def first_brand_color(guidelines: dict[str, Any] | None) -> str:
    """The first usable colour of ``brandGuidelines.colors`` (``rrggbb``), or ""."""
    colors = (guidelines or {}).get("colors")
    for value in colors if isinstance(colors, list) else []:
        found = hex_color(value)
        if found:
            return found
    return ""
