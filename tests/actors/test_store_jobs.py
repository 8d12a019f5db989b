"""The job tables and their guarded transitions, on a real SQLite file."""

from __future__ import annotations

import sqlite3

import pytest

from actorvid.clock import now_iso
from actorvid.domain.scenes import PlannedScene
from actorvid.errors import Conflict
from actorvid.store import jobs
from actorvid.store.blobs import write_blob
from actorvid.store.db import Database
from tests.actors.helpers import job_row, make_job, scene_rows


def _scenes(n: int) -> list[jobs.NewSubJob]:
    return [jobs.NewSubJob(f"s{i}", PlannedScene(i, f"prompt {i}", 6.0, "hailuo"))
            for i in range(1, n + 1)]


def test_the_happy_path_of_a_job(db: Database, user_id: int) -> None:
    job_id = make_job(db, user_id)
    now = now_iso()
    with db.write() as conn:
        jobs.set_job_stage(conn, job_id, expected_status="pending",
                           status="storyboard_processing", stage="storyboard", now=now)
        jobs.save_storyboard(conn, job_id, storyboard={"scenes": []}, estimated_cost=1.5, now=now)
        jobs.approve_job(conn, job_id, now=now)
        assert jobs.insert_sub_jobs(conn, job_id, _scenes(2), now=now) == 2
        assert jobs.insert_sub_jobs(conn, job_id, _scenes(2), now=now) == 0  # idempotent
        jobs.begin_attempt(conn, "s1", tag="s1:1", provider="fake", input={}, now=now)
        jobs.record_prediction(conn, "s1", tag="s1:1", provider_id="p1", now=now)
    clip = write_blob(db, [b"clip"])
    with db.write() as conn:
        jobs.complete_sub_job(conn, "s1", clip_blob_id=clip.id, cost=0.5, now=now)
        jobs.set_job_stage(conn, job_id, expected_status="video_processing",
                           status="video_processing", stage="stitching",
                           expected_stage="rendering", now=now)
        jobs.complete_job(conn, job_id, expected_stage="stitching", video_blob_id=None,
                          thumbnail_blob_id=None, audio_blob_id=None, result={"ok": True},
                          actual_cost=0.5, now=now)
    job = job_row(db, job_id)
    assert (job.status, job.stage, job.result, job.estimated_cost) == (
        "completed", "done", {"ok": True}, 1.5)
    [s1, s2] = scene_rows(db, job_id)
    assert (s1.status, s1.provider_id, s1.attempts, s1.clip_blob_id) == (
        "completed", "p1", 1, clip.id)
    assert s2.status == "pending"


def test_every_transition_is_guarded(db: Database, user_id: int) -> None:
    job_id = make_job(db, user_id)
    now = now_iso()
    with pytest.raises(Conflict), db.write() as conn:
        jobs.approve_job(conn, job_id, now=now)  # not storyboard_ready
    with db.write() as conn:
        jobs.cancel_job(conn, job_id, now=now)
    for late in (
        lambda c: jobs.fail_job(c, job_id, error="x", now=now),
        lambda c: jobs.cancel_job(c, job_id, now=now),
        lambda c: jobs.update_progress(c, job_id, progress={}, now=now),
        lambda c: jobs.set_job_stage(c, job_id, expected_status="pending", status="failed",
                                     stage="done", now=now),
    ):
        with pytest.raises(Conflict), db.write() as conn:
            late(conn)
    assert job_row(db, job_id).status == "cancelled"


def test_a_prediction_id_is_only_stored_for_the_current_attempt(db: Database, user_id: int
                                                                ) -> None:
    job_id = make_job(db, user_id)
    now = now_iso()
    with db.write() as conn:
        jobs.insert_sub_jobs(conn, job_id, _scenes(1), now=now)
        jobs.begin_attempt(conn, "s1", tag="t1", provider="fake", input={}, now=now)
    with pytest.raises(Conflict), db.write() as conn:
        jobs.record_prediction(conn, "s1", tag="old-tag", provider_id="p0", now=now)
    with db.write() as conn:
        jobs.record_prediction(conn, "s1", tag="t1", provider_id="p1", now=now)
    with pytest.raises(Conflict), db.write() as conn:  # never a second create once stored
        jobs.begin_attempt(conn, "s1", tag="t2", provider="fake", input={}, now=now)
    with db.write() as conn:
        jobs.forget_lost_prediction(conn, "s1", provider_id="p1", now=now)
    with pytest.raises(Conflict), db.write() as conn:
        jobs.forget_lost_prediction(conn, "s1", provider_id="p1", now=now)
    [s1] = scene_rows(db, job_id)
    assert (s1.provider_id, s1.recreated_from, s1.attempt_tag) == (None, "p1", None)


def test_deleting_a_job_deletes_its_blobs(db: Database, user_id: int) -> None:
    job_id = make_job(db, user_id)
    now = now_iso()
    clip, video = write_blob(db, [b"clip"]), write_blob(db, [b"video"])
    with db.write() as conn:
        jobs.insert_sub_jobs(conn, job_id, _scenes(1), now=now)
        jobs.begin_attempt(conn, "s1", tag="t", provider="fake", input={}, now=now)
        jobs.complete_sub_job(conn, "s1", clip_blob_id=clip.id, cost=None, now=now)
        conn.execute("UPDATE jobs SET video_blob_id = :v WHERE id = :id",
                     {"v": video.id, "id": job_id})
        conn.execute("DELETE FROM jobs WHERE id = :id", {"id": job_id})
    with db.read() as conn:
        assert conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM blob_chunks").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM sub_jobs").fetchone()[0] == 0


def test_the_status_column_accepts_only_the_seven_client_statuses(db: Database, user_id: int
                                                                  ) -> None:
    job_id = make_job(db, user_id)
    with pytest.raises(sqlite3.IntegrityError), db.write() as conn:
        conn.execute("UPDATE jobs SET status = 'rendering' WHERE id = :id", {"id": job_id})
