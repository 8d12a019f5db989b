"""What a JobActor decides without threads: its next step from the job row, and the
soundtrack chain's next segment. Kept apart from :class:`~actorvid.actors.job.JobActor` so
each rule is tested on plain rows (``tests/actors/test_decisions.py``), like
``actors.scene_steps`` for scenes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from actorvid.store import jobs

Step = Literal["stop", "prepare", "begin_prepare", "wait", "render", "soundtrack", "finish"]


def next_step(job: jobs.Job) -> Step:
    """What a (re)started JobActor does, from the job row alone."""
    if job.terminal:
        return "stop"
    if job.status == "pending":
        return "begin_prepare"
    if job.status == "storyboard_processing":
        return "prepare"
    if job.status == "storyboard_ready":
        return "wait"
    if job.stage == "soundtrack":
        return "soundtrack"
    if job.stage in ("stitching", "storing"):
        return "finish"
    return "render"


def next_segment(segments: Sequence[jobs.SubJob]) -> jobs.SubJob | Literal["done", "broken"]:
    """The soundtrack chain's next step: the first unfinished segment, ``done`` when all are
    made, ``broken`` when one ended without music (the chain stops there)."""
    for segment in segments:
        if segment.status == "completed":
            continue
        if segment.terminal:
            return "broken"
        return segment
    return "done"
