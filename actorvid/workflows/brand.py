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


DEFAULT_PRIMARY = "1f4e79"  # a calm blue
DEFAULT_SECONDARY = "f4d35e"  # a warm accent that reads on the blue and on dark stills


def brand_colors(guidelines: dict[str, Any] | None) -> tuple[str, str]:
    """(primary, secondary) as ``rrggbb`` from ``brandGuidelines.colors``: a list (the API's
    shape: first is primary, second secondary) or an object with ``primary``/``secondary``;
    defaults where absent or unusable."""
    colors = (guidelines or {}).get("colors")
    if isinstance(colors, dict):
        found = [hex_color(colors.get("primary")), hex_color(colors.get("secondary"))]
    elif isinstance(colors, list):
        usable = [c for c in (hex_color(v) for v in colors) if c]
        found = [*usable[:2], None, None][:2]
    else:
        found = [None, None]
    return found[0] or DEFAULT_PRIMARY, found[1] or DEFAULT_SECONDARY


def brand_font_weight(guidelines: dict[str, Any] | None) -> str:
    """``bold`` (default) or ``regular``: the weight the first of ``brandGuidelines.fonts``
    names (``"Inter Regular"``, ``"Lato Light"``, ``"Roboto 400"``); the family itself is not
    used, cards always draw with the packaged font."""
    fonts = (guidelines or {}).get("fonts")
    first = fonts[0] if isinstance(fonts, list) and fonts and isinstance(fonts[0], str) else ""
    words = first.lower().replace("-", " ").split()
    if any(w in ("regular", "normal", "light", "book", "thin", "300", "400") for w in words):
        return "regular"
    return "bold"
