"""A scene the job will render, as the pipeline plans it from the storyboard.

Here, in the domain, because two layers that must not import each other both hold it: the
actors receive it from a pipeline (``actors/pipeline.py`` re-exports it for the pipelines), and
the store inserts it as a sub-job row (``store/jobs.py`` ``NewSubJob``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PlannedScene:
    """One scene to render, as ``jobs.storyboard`` (possibly edited by the user) says."""

    scene_number: int
    prompt: str
    duration: float
    model: str
    first_asset_id: str | None = None
    last_asset_id: str | None = None
    input: dict[str, Any] = field(default_factory=dict)
