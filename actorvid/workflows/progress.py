"""A job's progress, derived from its rows on every read: one formula, never stored.

Nothing writes progress: it is a pure function of the job's status and stage and of how many of
its clips and music segments are finished, so every poll sees the same numbers for the same rows,
the percentage only grows while the job moves forward, and it is never behind the rows.
"""

from __future__ import annotations

from typing import Any, Protocol

# The steps a client sees, in order (``currentStep`` is 1-based into this).
STAGES = ("selecting", "storyboard", "awaiting_approval", "rendering", "soundtrack",
          "stitching", "storing", "done")

# Where each stage starts on the 0–100 bar; rendering and soundtrack fill their span by count.
_START = {"selecting": 2, "storyboard": 6, "awaiting_approval": 15, "rendering": 15,
          "soundtrack": 80, "stitching": 93, "storing": 97, "done": 100}
_SPAN = {"rendering": 65, "soundtrack": 13}

_MESSAGE = {
    "selecting": "Choosing images", "storyboard": "Writing the storyboard",
    "awaiting_approval": "Storyboard ready for approval", "rendering": "Rendering clips",
    "soundtrack": "Making the soundtrack", "stitching": "Stitching the clips",
    "storing": "Storing the video", "done": "Video ready",
}


class Counts(Protocol):
    """How many sub-jobs (clips or music segments) are in each state."""

    @property
    def total(self) -> int: ...
    @property
    def completed(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def cancelled(self) -> int: ...


def _finished(counts: Counts) -> int:
    return counts.completed + counts.failed + counts.cancelled


def job_progress(*, status: str, stage: str, error: str | None, planned_scenes: int,
                 clips: Counts, music: Counts, note: str | None = None) -> dict[str, Any]:
    """The client-facing ``progress`` object of a job.

    ``planned_scenes`` is the storyboard's scene count (the clips before rendering starts);
    ``note`` is a sentence the job recorded for the user (for example why it makes fewer scenes
    than asked), shown while the job runs.
    """
    percent = _START.get(stage, 0)
    counts = clips if stage == "rendering" else music if stage == "soundtrack" else None
    if counts is not None and counts.total:
        percent += _SPAN[stage] * _finished(counts) // counts.total
    if status == "completed":
        percent = 100
    message = _MESSAGE.get(stage, stage)
    if stage == "rendering" and clips.total:
        message = f"Rendering clips ({_finished(clips)} of {clips.total} done)"
    elif stage == "soundtrack" and music.total:
        message = f"Making the soundtrack ({_finished(music)} of {music.total} segments)"
    if note and status not in ("completed", "failed", "cancelled"):
        message = f"{message}. {note}"
    if status == "failed":
        message = error or "Failed"
    elif status == "cancelled":
        message = "Cancelled"
    step = STAGES.index(stage) + 1 if stage in STAGES else 0
    return {"stage": stage, "percent": percent, "message": message,
            "scenesTotal": clips.total or planned_scenes, "scenesCompleted": clips.completed,
            "scenesFailed": clips.failed, "currentStep": step, "totalSteps": len(STAGES)}
