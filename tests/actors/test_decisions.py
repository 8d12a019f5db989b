"""The resume decisions as plain functions, without threads."""

from __future__ import annotations

import dataclasses

import pytest

from actorvid.actors.job_steps import next_segment
from actorvid.actors.job_steps import next_step as job_next_step
from actorvid.actors.scene_steps import next_step
from actorvid.store import jobs

JOB = jobs.Job(1, 1, None, None, "standard", "pending", "selecting", {}, None, {}, None, None,
               None, None, None, None, None, None, None, "t", "t", None)
SUB = jobs.SubJob("s", 1, 1, None, None, "", 6.0, "hailuo", None, None, None, None, "pending", 0,
                  None, None, None, {}, None, None, "t", "t")


@pytest.mark.parametrize(("status", "stage", "expected"), [
    ("pending", "selecting", "begin_prepare"),
    ("storyboard_processing", "storyboard", "prepare"),
    ("storyboard_ready", "awaiting_approval", "wait"),
    ("video_processing", "rendering", "render"),
    ("video_processing", "stitching", "finish"),
    ("video_processing", "soundtrack", "soundtrack"),
    ("completed", "done", "stop"),
    ("failed", "rendering", "stop"),
    ("cancelled", "rendering", "stop"),
])
def test_a_restarted_job_continues_from_its_row(status: str, stage: str, expected: str) -> None:
    assert job_next_step(dataclasses.replace(JOB, status=status, stage=stage)) == expected


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, "create"),
    ({"status": "processing", "attempt_tag": "job1/s/1/x"}, "find"),
    ({"status": "processing", "attempt_tag": "job1/s/1/x", "provider_id": "p"}, "poll"),
    ({"status": "completed", "provider_id": "p", "clip_blob_id": "b"}, "done"),
    ({"status": "cancelled", "provider_id": "p"}, "done"),
])
def test_a_restarted_scene_never_creates_when_a_prediction_may_exist(changes: dict,
                                                                     expected: str) -> None:
    assert next_step(dataclasses.replace(SUB, **changes)) == expected


def test_the_soundtrack_chain_goes_one_segment_at_a_time_and_stops_at_a_failure() -> None:
    segments = [dataclasses.replace(SUB, id=f"m{n}", scene_number=n, kind="music")
                for n in (1, 2, 3)]
    assert next_segment(segments) == segments[0]
    made = [dataclasses.replace(segments[0], status="completed"), *segments[1:]]
    assert next_segment(made) == made[1]  # k+1 only after k is stored
    assert next_segment([made[0], dataclasses.replace(made[1], status="failed"),
                         made[2]]) == "broken"
    assert next_segment([dataclasses.replace(s, status="completed") for s in segments]) \
        == "done"
