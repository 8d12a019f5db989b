"""The guarded transitions of a job row, and the bookkeeping of a sub-job's provider attempt
(the attempt tag written before a create, the prediction id the moment it answers, a lost
prediction forgotten, a retry): every change is one ``UPDATE … WHERE status`` (or a set of
allowed statuses), and zero rows changed raises :class:`Conflict`.

Split out of ``store/jobs.py`` (issue 16), which keeps the row types, the reads and inserts and
the sub-jobs, and re-exports these names so ``jobs.fail_job`` etc. keep working.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from actorvid.errors import Conflict
from actorvid.store.models import dump_json


def _changed(cur: sqlite3.Cursor, what: str) -> None:
    if cur.rowcount == 0:
        raise Conflict(what)


def set_job_stage(conn: sqlite3.Connection, job_id: int, *, expected_status: str,
                  status: str, stage: str, now: str, expected_stage: str | None = None) -> None:
    """Move a job from ``expected_status`` (and ``expected_stage``) to ``status``/``stage``."""
    cur = conn.execute(
        """
        UPDATE jobs SET status = :status, stage = :stage, updated_at = :now
        WHERE id = :id AND status = :expected_status
          AND (:expected_stage IS NULL OR stage = :expected_stage)
        """,
        {"id": job_id, "status": status, "stage": stage, "now": now,
         "expected_status": expected_status, "expected_stage": expected_stage},
    )
    _changed(cur, f"job {job_id} is not {expected_status}/{expected_stage or '*'}")


def save_storyboard(conn: sqlite3.Connection, job_id: int, *, storyboard: dict[str, Any],
                    estimated_cost: float | None, now: str,
                    expected_status: str = "storyboard_processing") -> None:
    """Store the storyboard and make the job ``storyboard_ready`` (awaiting approval)."""
    cur = conn.execute(
        """
        UPDATE jobs SET storyboard = :storyboard, estimated_cost = :estimated_cost,
                        status = 'storyboard_ready', stage = 'awaiting_approval',
                        updated_at = :now
        WHERE id = :id AND status = :expected_status
        """,
        {"id": job_id, "storyboard": dump_json(storyboard), "estimated_cost": estimated_cost,
         "now": now, "expected_status": expected_status},
    )
    _changed(cur, f"job {job_id} is not {expected_status}")


def approve_job(conn: sqlite3.Connection, job_id: int, *, now: str) -> None:
    """``storyboard_ready`` → ``video_processing``/``rendering``; Conflict from any other."""
    cur = conn.execute(
        """
        UPDATE jobs SET status = 'video_processing', stage = 'rendering',
                        approved_at = :now, updated_at = :now
        WHERE id = :id AND status = 'storyboard_ready'
        """,
        {"id": job_id, "now": now},
    )
    _changed(cur, f"job {job_id} is not awaiting approval")


def update_progress(conn: sqlite3.Connection, job_id: int, *, progress: dict[str, Any],
                    now: str) -> None:
    """Replace the progress map of a running job (one writer: its JobActor)."""
    cur = conn.execute(
        """
        UPDATE jobs SET progress = :progress, updated_at = :now
        WHERE id = :id AND status NOT IN ('completed', 'failed', 'cancelled')
        """,
        {"id": job_id, "progress": dump_json(progress), "now": now},
    )
    _changed(cur, f"job {job_id} is finished")


def complete_job(conn: sqlite3.Connection, job_id: int, *, expected_stage: str,
                 video_blob_id: str | None, thumbnail_blob_id: str | None,
                 audio_blob_id: str | None, result: dict[str, Any],
                 actual_cost: float | None, now: str) -> None:
    """The one terminal success: ``video_processing``/``expected_stage`` → ``completed``."""
    cur = conn.execute(
        """
        UPDATE jobs SET status = 'completed', stage = 'done', video_blob_id = :video_blob_id,
                        thumbnail_blob_id = :thumbnail_blob_id, audio_blob_id = :audio_blob_id,
                        result = :result, actual_cost = :actual_cost, error = NULL,
                        updated_at = :now, completed_at = :now
        WHERE id = :id AND status = 'video_processing' AND stage = :expected_stage
        """,
        {"id": job_id, "expected_stage": expected_stage, "video_blob_id": video_blob_id,
         "thumbnail_blob_id": thumbnail_blob_id, "audio_blob_id": audio_blob_id,
         "result": dump_json(result), "actual_cost": actual_cost, "now": now},
    )
    _changed(cur, f"job {job_id} is not video_processing/{expected_stage}")


def fail_job(conn: sqlite3.Connection, job_id: int, *, error: str, now: str) -> None:
    """Any non-terminal status → ``failed`` with ``error``."""
    cur = conn.execute(
        """
        UPDATE jobs SET status = 'failed', error = :error, updated_at = :now,
                        completed_at = :now
        WHERE id = :id AND status NOT IN ('completed', 'failed', 'cancelled')
        """,
        {"id": job_id, "error": error, "now": now},
    )
    _changed(cur, f"job {job_id} is already finished")


def cancel_job(conn: sqlite3.Connection, job_id: int, *, now: str) -> None:
    """Any non-terminal status → ``cancelled``, with every unfinished sub-job."""
    cur = conn.execute(
        """
        UPDATE jobs SET status = 'cancelled', updated_at = :now, completed_at = :now
        WHERE id = :id AND status NOT IN ('completed', 'failed', 'cancelled')
        """,
        {"id": job_id, "now": now},
    )
    _changed(cur, f"job {job_id} is already finished")
    conn.execute(
        """
        UPDATE sub_jobs SET status = 'cancelled', updated_at = :now
        WHERE job_id = :job_id AND status IN ('pending', 'processing')
        """,
        {"job_id": job_id, "now": now},
    )


# --- a sub-job's provider attempt ----------------------------------------------------------


def begin_attempt(conn: sqlite3.Connection, sub_job_id: str, *, tag: str, provider: str,
                  input: dict[str, Any], now: str) -> None:
    """Record the tag of a create call *before* it is made (pending/processing, no prediction).

    After a crash, a row with a tag and no ``provider_id`` means "a create may have happened":
    look the tag up at the provider before creating again.
    """
    cur = conn.execute(
        """
        UPDATE sub_jobs SET status = 'processing', attempt_tag = :tag, provider = :provider,
                            attempts = attempts + 1, input = :input, error = NULL,
                            started_at = coalesce(started_at, :now), updated_at = :now
        WHERE id = :id AND status IN ('pending', 'processing') AND provider_id IS NULL
        """,
        {"id": sub_job_id, "tag": tag, "provider": provider, "input": dump_json(input),
         "now": now},
    )
    _changed(cur, f"sub-job {sub_job_id} cannot start a create")


def record_prediction(conn: sqlite3.Connection, sub_job_id: str, *, tag: str,
                      provider_id: str, now: str) -> None:
    """Store the prediction id the moment the create call answered (before any polling)."""
    cur = conn.execute(
        """
        UPDATE sub_jobs SET provider_id = :provider_id, updated_at = :now
        WHERE id = :id AND status = 'processing' AND attempt_tag = :tag
          AND provider_id IS NULL
        """,
        {"id": sub_job_id, "tag": tag, "provider_id": provider_id, "now": now},
    )
    _changed(cur, f"sub-job {sub_job_id} is not waiting for prediction {provider_id}")


def forget_lost_prediction(conn: sqlite3.Connection, sub_job_id: str, *, provider_id: str,
                           now: str) -> None:
    """Forget a prediction the provider no longer has (its output expired, or the prediction
    itself is gone) so it is created again, once: Conflict the second time."""
    cur = conn.execute(
        """
        UPDATE sub_jobs SET recreated_from = provider_id, provider_id = NULL,
                            attempt_tag = NULL, updated_at = :now
        WHERE id = :id AND status = 'processing' AND provider_id = :provider_id
          AND recreated_from IS NULL
        """,
        {"id": sub_job_id, "provider_id": provider_id, "now": now},
    )
    _changed(cur, f"sub-job {sub_job_id}: output of {provider_id} expired and was re-created "
                  "already")


def retry_sub_job(conn: sqlite3.Connection, sub_job_id: str, *, provider_id: str, error: str,
                  now: str) -> None:
    """A prediction failed: forget it and count the failure, so the scene creates afresh."""
    cur = conn.execute(
        """
        UPDATE sub_jobs SET provider_id = NULL, attempt_tag = NULL, failures = failures + 1,
                            error = :error, updated_at = :now
        WHERE id = :id AND status = 'processing' AND provider_id = :provider_id
        """,
        {"id": sub_job_id, "provider_id": provider_id, "error": error, "now": now},
    )
    _changed(cur, f"sub-job {sub_job_id} is not waiting for prediction {provider_id}")
