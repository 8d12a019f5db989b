"""Jobs and sub-jobs: rows, reads, inserts, guarded transitions (a job's own transitions are in
``store/job_transitions.py``).

Every status change is one ``UPDATE … WHERE status = :expected`` (or a set of allowed statuses);
zero rows changed raises :class:`Conflict`, so two writers can never both move a row and a late
writer never resurrects a finished job. The actors write here *before* they act on a change.
Functions take ``conn`` first (a connection inside ``db.write()`` for writes) and ``now`` as an
ISO string, so tests choose the time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from actorvid.domain.parameters import JobParameters
from actorvid.domain.scenes import PlannedScene
from actorvid.domain.storyboard import Storyboard
from actorvid.errors import NotFound

# The job transitions and a sub-job's attempt bookkeeping live in store/job_transitions.py;
# re-exported because the actors, the pipelines and the API call them as ``jobs.<name>``
# (files other work changes this round).
from actorvid.store.job_transitions import _changed as _changed
from actorvid.store.job_transitions import approve_job as approve_job
from actorvid.store.job_transitions import begin_attempt as begin_attempt
from actorvid.store.job_transitions import cancel_job as cancel_job
from actorvid.store.job_transitions import complete_job as complete_job
from actorvid.store.job_transitions import fail_job as fail_job
from actorvid.store.job_transitions import forget_lost_prediction as forget_lost_prediction
from actorvid.store.job_transitions import record_prediction as record_prediction
from actorvid.store.job_transitions import retry_sub_job as retry_sub_job
from actorvid.store.job_transitions import save_storyboard as save_storyboard
from actorvid.store.job_transitions import set_job_stage as set_job_stage
from actorvid.store.job_transitions import update_progress as update_progress
from actorvid.store.models import Scope, dump_json, load_json, scope_sql

JOB_TYPES = ("standard", "image_pairs", "property_video", "audio")
JOB_STATUSES = ("pending", "storyboard_processing", "storyboard_ready", "video_processing",
                "completed", "failed", "cancelled")
TERMINAL_JOB_STATUSES = frozenset({"completed", "failed", "cancelled"})
SUB_JOB_STATUSES = ("pending", "processing", "completed", "failed", "cancelled")
TERMINAL_SUB_JOB_STATUSES = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    user_id: int
    client_id: str | None
    campaign_id: str | None
    type: str
    status: str
    stage: str
    parameters: dict[str, Any]
    storyboard: dict[str, Any] | None
    progress: dict[str, Any]
    result: dict[str, Any] | None
    video_blob_id: str | None
    thumbnail_blob_id: str | None
    audio_blob_id: str | None
    estimated_cost: float | None
    actual_cost: float | None
    provider: str | None
    error: str | None
    approved_at: str | None
    created_at: str
    updated_at: str
    completed_at: str | None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_JOB_STATUSES

    @property
    def params(self) -> JobParameters:
        """What the job was asked to do, as a value (``parameters`` is the stored document,
        of either version: see ``domain/parameters.py``)."""
        return JobParameters.from_document(self.parameters, kind=self.type)

    @property
    def board(self) -> Storyboard | None:
        """The storyboard as a value (``storyboard`` is the stored document, of either
        version: see ``domain/storyboard.py``)."""
        return Storyboard.from_document(self.storyboard)


@dataclass(frozen=True, slots=True)
class SubJob:
    id: str
    job_id: int
    scene_number: int
    first_asset_id: str | None
    last_asset_id: str | None
    prompt: str
    duration: float
    model: str
    provider: str | None
    provider_id: str | None
    attempt_tag: str | None
    recreated_from: str | None
    status: str
    attempts: int
    clip_blob_id: str | None
    cost: float | None
    error: str | None
    input: dict[str, Any]
    started_at: str | None
    completed_at: str | None
    created_at: str
    updated_at: str
    failures: int = 0
    # One provider prediction: a video "clip" of a scene, or one "music" segment of the
    # soundtrack chain.
    kind: str = "clip"
    # The clip normalised into the job's output format (None until it is).
    shot_blob_id: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_SUB_JOB_STATUSES


@dataclass(frozen=True, slots=True)
class NewSubJob:
    """A sub-job row to insert: the scene as the pipeline planned it, plus what only the row
    adds (its id, the provider that will make it, and whether it is a clip or music)."""

    id: str
    scene: PlannedScene
    provider: str | None = None
    kind: str = "clip"


JOB_COLUMNS = """id, user_id, client_id, campaign_id, type, status, stage, parameters,
    storyboard, progress, result, video_blob_id, thumbnail_blob_id, audio_blob_id,
    estimated_cost, actual_cost, provider, error, approved_at, created_at, updated_at,
    completed_at"""

SUB_JOB_COLUMNS = """id, job_id, scene_number, first_asset_id, last_asset_id, prompt, duration,
    model, provider, provider_id, attempt_tag, recreated_from, status, attempts, clip_blob_id,
    cost, error, input, started_at, completed_at, created_at, updated_at, failures, kind,
    shot_blob_id"""


def job_from_row(row: sqlite3.Row) -> Job:
    return Job(
        row["id"], row["user_id"], row["client_id"], row["campaign_id"], row["type"],
        row["status"], row["stage"], load_json(row["parameters"], {}),
        load_json(row["storyboard"]), load_json(row["progress"], {}), load_json(row["result"]),
        row["video_blob_id"], row["thumbnail_blob_id"], row["audio_blob_id"],
        row["estimated_cost"], row["actual_cost"], row["provider"], row["error"],
        row["approved_at"], row["created_at"], row["updated_at"], row["completed_at"],
    )


def sub_job_from_row(row: sqlite3.Row) -> SubJob:
    return SubJob(
        row["id"], row["job_id"], row["scene_number"], row["first_asset_id"],
        row["last_asset_id"], row["prompt"], row["duration"], row["model"], row["provider"],
        row["provider_id"], row["attempt_tag"], row["recreated_from"], row["status"],
        row["attempts"], row["clip_blob_id"], row["cost"], row["error"],
        load_json(row["input"], {}), row["started_at"], row["completed_at"],
        row["created_at"], row["updated_at"], row["failures"], row["kind"],
        row["shot_blob_id"],
    )


# --- jobs ---------------------------------------------------------------------------------


def create_job(conn: sqlite3.Connection, *, user_id: int, type: str,
               parameters: dict[str, Any], now: str, client_id: str | None = None,
               campaign_id: str | None = None, provider: str | None = None,
               estimated_cost: float | None = None) -> Job:
    cur = conn.execute(
        """
        INSERT INTO jobs (user_id, client_id, campaign_id, type, status, stage, parameters,
                          progress, provider, estimated_cost, created_at, updated_at)
        VALUES (:user_id, :client_id, :campaign_id, :type, 'pending', 'selecting',
                :parameters, '{}', :provider, :estimated_cost, :now, :now)
        """,
        {"user_id": user_id, "client_id": client_id, "campaign_id": campaign_id, "type": type,
         "parameters": dump_json(parameters), "provider": provider,
         "estimated_cost": estimated_cost, "now": now},
    )
    assert cur.lastrowid is not None
    return get_job(conn, cur.lastrowid)


def get_job(conn: sqlite3.Connection, job_id: int, *, scope: Scope | None = None) -> Job:
    """The job ``job_id`` (visible to ``scope`` when given); :class:`NotFound` otherwise."""
    params: dict[str, Any] = {"id": job_id}
    where = "id = :id"
    if scope is not None:
        where += f" AND {scope_sql()}"
        params.update(scope.params)
    row = conn.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE {where}", params).fetchone()
    if row is None:
        raise NotFound("Job not found")
    return job_from_row(row)


def delete_job(conn: sqlite3.Connection, job_id: int) -> None:
    """Remove a job row (with its sub-jobs and blobs): a request refused after the insert."""
    conn.execute("DELETE FROM jobs WHERE id = :id", {"id": job_id})


def list_active_jobs(conn: sqlite3.Connection) -> list[Job]:
    """Every job that is not terminal, oldest first (what recovery resumes)."""
    rows = conn.execute(
        f"""
        SELECT {JOB_COLUMNS} FROM jobs
        WHERE status NOT IN ('completed', 'failed', 'cancelled')
        ORDER BY id
        """
    ).fetchall()
    return [job_from_row(r) for r in rows]


# --- sub-jobs -----------------------------------------------------------------------------


def insert_sub_jobs(conn: sqlite3.Connection, job_id: int, rows: Iterable[NewSubJob], *,
                    now: str) -> int:
    """Insert the scenes of a job once: a scene number already present is left alone."""
    count = 0
    for row in rows:
        scene = row.scene
        cur = conn.execute(
            """
            INSERT INTO sub_jobs (id, job_id, kind, scene_number, first_asset_id, last_asset_id,
                                  prompt, duration, model, provider, status, attempts, input,
                                  created_at, updated_at)
            VALUES (:id, :job_id, :kind, :scene_number, :first_asset_id, :last_asset_id,
                    :prompt, :duration, :model, :provider, 'pending', 0, :input, :now, :now)
            ON CONFLICT (job_id, kind, scene_number) DO NOTHING
            """,
            {"id": row.id, "job_id": job_id, "kind": row.kind,
             "scene_number": scene.scene_number,
             "first_asset_id": scene.first_asset_id, "last_asset_id": scene.last_asset_id,
             "prompt": scene.prompt, "duration": scene.duration, "model": scene.model,
             "provider": row.provider, "input": dump_json(scene.input), "now": now},
        )
        count += cur.rowcount
    return count


def list_sub_jobs(conn: sqlite3.Connection, job_id: int, *, kind: str = "clip"
                  ) -> list[SubJob]:
    """The job's clips (or, with ``kind="music"``, its soundtrack segments) in order."""
    rows = conn.execute(
        f"""
        SELECT {SUB_JOB_COLUMNS} FROM sub_jobs WHERE job_id = :job_id AND kind = :kind
        ORDER BY scene_number
        """,
        {"job_id": job_id, "kind": kind},
    ).fetchall()
    return [sub_job_from_row(r) for r in rows]


def get_sub_job(conn: sqlite3.Connection, sub_job_id: str) -> SubJob:
    row = conn.execute(f"SELECT {SUB_JOB_COLUMNS} FROM sub_jobs WHERE id = :id",
                       {"id": sub_job_id}).fetchone()
    if row is None:
        raise NotFound("Scene not found")
    return sub_job_from_row(row)


def find_sub_job_by_provider_id(conn: sqlite3.Connection, provider_id: str) -> SubJob | None:
    row = conn.execute(
        f"SELECT {SUB_JOB_COLUMNS} FROM sub_jobs WHERE provider_id = :provider_id",
        {"provider_id": provider_id},
    ).fetchone()
    return sub_job_from_row(row) if row else None


def complete_sub_job(conn: sqlite3.Connection, sub_job_id: str, *, clip_blob_id: str,
                     cost: float | None, now: str) -> None:
    cur = conn.execute(
        """
        UPDATE sub_jobs SET status = 'completed', clip_blob_id = :clip_blob_id, cost = :cost,
                            error = NULL, completed_at = :now, updated_at = :now
        WHERE id = :id AND status = 'processing'
        """,
        {"id": sub_job_id, "clip_blob_id": clip_blob_id, "cost": cost, "now": now},
    )
    _changed(cur, f"sub-job {sub_job_id} is not processing")


def record_shot(conn: sqlite3.Connection, sub_job_id: str, *, clip_blob_id: str,
                shot_blob_id: str, now: str) -> None:
    """Store the normalised shot of a completed clip, once: Conflict when the row no longer
    holds that clip or has a shot already (the caller deletes its blob)."""
    cur = conn.execute(
        """
        UPDATE sub_jobs SET shot_blob_id = :shot_blob_id, updated_at = :now
        WHERE id = :id AND status = 'completed' AND clip_blob_id = :clip_blob_id
          AND shot_blob_id IS NULL
        """,
        {"id": sub_job_id, "clip_blob_id": clip_blob_id, "shot_blob_id": shot_blob_id,
         "now": now},
    )
    _changed(cur, f"sub-job {sub_job_id} cannot take a shot")


def fail_sub_job(conn: sqlite3.Connection, sub_job_id: str, *, error: str, now: str,
                 cost: float | None = None,
                 expected: Sequence[str] = ("pending", "processing")) -> None:
    cur = conn.execute(
        f"""
        UPDATE sub_jobs SET status = 'failed', error = :error, cost = coalesce(:cost, cost),
                            completed_at = :now, updated_at = :now
        WHERE id = :id AND status IN ({_placeholders(expected)})
        """,
        {"id": sub_job_id, "error": error, "cost": cost, "now": now,
         **_values(expected)},
    )
    _changed(cur, f"sub-job {sub_job_id} is not {'/'.join(expected)}")


def skip_sub_jobs(conn: sqlite3.Connection, job_id: int, *, kind: str, error: str,
                  now: str) -> int:
    """Cancel the job's unstarted sub-jobs of ``kind`` with ``error`` (a chain that broke)."""
    cur = conn.execute(
        """
        UPDATE sub_jobs SET status = 'cancelled', error = :error, updated_at = :now
        WHERE job_id = :job_id AND kind = :kind AND status = 'pending'
        """,
        {"job_id": job_id, "kind": kind, "error": error, "now": now},
    )
    return cur.rowcount


def cancel_sub_job(conn: sqlite3.Connection, sub_job_id: str, *, now: str) -> bool:
    """Cancel one unfinished sub-job; False if it was already finished (not an error)."""
    cur = conn.execute(
        """
        UPDATE sub_jobs SET status = 'cancelled', updated_at = :now
        WHERE id = :id AND status IN ('pending', 'processing')
        """,
        {"id": sub_job_id, "now": now},
    )
    return cur.rowcount == 1


def _placeholders(values: Sequence[str]) -> str:
    # Only our own status names reach here; the values still travel as parameters.
    return ", ".join(f":s{i}" for i in range(len(values)))


def _values(values: Sequence[str]) -> dict[str, str]:
    for value in values:
        if value not in SUB_JOB_STATUSES:
            raise ValueError(f"unknown sub-job status {value!r}")
    return {f"s{i}": v for i, v in enumerate(values)}
