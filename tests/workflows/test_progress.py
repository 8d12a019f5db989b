"""Progress is one pure function of the rows: same rows, same answer; it only grows."""

from __future__ import annotations

from actorvid.store.job_views import SceneCounts
from actorvid.workflows.progress import job_progress

NONE = SceneCounts()


def progress(status: str, stage: str, clips: SceneCounts = NONE, music: SceneCounts = NONE,
             planned: int = 4) -> dict:
    return job_progress(status=status, stage=stage, error=None, planned_scenes=planned,
                        clips=clips, music=music)


def test_percent_only_grows_along_a_job() -> None:
    path = [
        progress("pending", "selecting"),
        progress("storyboard_processing", "storyboard"),
        progress("storyboard_ready", "awaiting_approval"),
        *[progress("video_processing", "rendering",
                   SceneCounts(total=4, completed=done, pending=4 - done))
          for done in range(5)],
        *[progress("video_processing", "soundtrack", SceneCounts(total=4, completed=4),
                   SceneCounts(total=4, completed=done, pending=4 - done))
          for done in range(5)],
        progress("video_processing", "stitching", SceneCounts(total=4, completed=4)),
        progress("completed", "done", SceneCounts(total=4, completed=4)),
    ]
    percents = [p["percent"] for p in path]
    assert percents == sorted(percents) and percents[-1] == 100
    steps = [p["currentStep"] for p in path]
    assert steps == sorted(steps)


def test_every_clip_moves_the_bar_and_says_so() -> None:
    two = progress("video_processing", "rendering", SceneCounts(total=7, completed=2,
                                                                  processing=5))
    three = progress("video_processing", "rendering", SceneCounts(total=7, completed=3,
                                                                    processing=4))
    assert three["percent"] > two["percent"]
    assert three["message"] == "Rendering clips (3 of 7 done)"
    assert three["scenesCompleted"] == 3 and three["scenesTotal"] == 7


def test_scenes_total_is_the_storyboards_before_rendering() -> None:
    assert progress("storyboard_ready", "awaiting_approval", planned=7)["scenesTotal"] == 7


def test_a_failed_job_says_why() -> None:
    failed = job_progress(status="failed", stage="rendering", error="All 2 scenes failed",
                          planned_scenes=2, clips=NONE, music=NONE)
    assert failed["message"] == "All 2 scenes failed"
