"""A standard job's brief: how long, how many scenes, and how they render. Pure functions.

The API (the estimate it answers at creation) and the standard pipeline (the storyboard)
read a brief through these, so the price quoted is that of what renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actorvid.domain.models import scene_count_for_duration
from actorvid.domain.parameters import RenderWish


def target_duration(brief: Mapping[str, Any]) -> float:
    """The video length the brief asks for (``creative.videoSpecs.duration``, default 30 s)."""
    specs = (brief.get("creative") or {}).get("videoSpecs") or {}
    return float(specs.get("duration") or 30)


def scene_count(brief: Mapping[str, Any]) -> int:
    """How many scenes the brief becomes (3–7, by its length)."""
    return scene_count_for_duration(target_duration(brief))


def render_wish(brief: Mapping[str, Any], scenes: int) -> RenderWish:
    """The brief's render wish, as the other job types' requests state it, for ``scenes``
    scenes."""
    specs = (brief.get("creative") or {}).get("videoSpecs") or {}
    advanced = brief.get("advanced") or {}
    return RenderWish(model=advanced.get("videoModel") or "veo3",
                      clip_duration=target_duration(brief) / max(scenes, 1),
                      resolution=specs.get("resolution") or advanced.get("resolution") or "",
                      # A brief may name its ratio at the top level too (the API made sure
                      # both agree).
                      aspect_ratio=specs.get("format") or brief.get("aspectRatio") or "16:9")
