"""A standard job's brief: how long, how many scenes, and how they render. Pure functions.

The API (the estimate it answers at creation) and the standard pipeline (the storyboard)
read a brief through these, so the price quoted is that of what renders.
"""

from __future__ import annotations

from typing import Any

from actorvid.domain.models import scene_count_for_duration


def target_duration(brief: dict[str, Any]) -> float:
    """The video length the brief asks for (``creative.videoSpecs.duration``, default 30 s)."""
    specs = (brief.get("creative") or {}).get("videoSpecs") or {}
    return float(specs.get("duration") or 30)


def scene_count(brief: dict[str, Any]) -> int:
    """How many scenes the brief becomes (3–7, by its length)."""
    return scene_count_for_duration(target_duration(brief))


def render_wish(brief: dict[str, Any], scenes: int) -> dict[str, Any]:
    """The brief's render parameters in the shape of the other job types' requests
    (``videoModel``, ``clipDuration``, ``resolution``, ``aspectRatio``) for ``scenes`` scenes."""
    specs = (brief.get("creative") or {}).get("videoSpecs") or {}
    advanced = brief.get("advanced") or {}
    return {"videoModel": advanced.get("videoModel") or "veo3",
            "clipDuration": target_duration(brief) / max(scenes, 1),
            "resolution": specs.get("resolution") or advanced.get("resolution"),
            "aspectRatio": specs.get("format") or "16:9"}
