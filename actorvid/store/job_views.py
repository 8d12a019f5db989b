"""Read-side queries of jobs for the API (listings, counts) and storyboard edits.

State transitions live in :mod:`actorvid.store.jobs`; this module holds what the HTTP layer
reads and the user-driven storyboard edits, which are legal only while a job waits for approval.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from actorvid.errors import Conflict
from actorvid.store.jobs import (
    JOB_COLUMNS,
    SUB_JOB_COLUMNS,
    Job,
    SubJob,
    job_from_row,
    sub_job_from_row,
)
from actorvid.store.models import Scope, dump_json, scope_sql


@dataclass(frozen=True, slots=True)
class SceneCounts:
    total: int = 0
    pending: int = 0
    processing: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0


@dataclass(frozen=True, slots=True)
class JobCounts:
    """A job's clips and music segments by status."""

    clips: SceneCounts = SceneCounts()
    music: SceneCounts = SceneCounts()


def _counts(rows: list[tuple[str, int]]) -> SceneCounts:
    counts = {status: n for status, n in rows}
    return SceneCounts(total=sum(counts.values()), **counts)


def jobs_counts(conn: sqlite3.Connection, job_ids: list[int]) -> dict[int, JobCounts]:
    """Counts for many jobs in one query (a listing must not ask once per job)."""
    if not job_ids:
        return {}
    marks = ", ".join("?" for _ in job_ids)
    rows = conn.execute(
        f"""
        SELECT job_id, kind, status, count(*) FROM sub_jobs WHERE job_id IN ({marks})
        GROUP BY job_id, kind, status
        """, job_ids).fetchall()
    grouped: dict[int, dict[str, list[tuple[str, int]]]] = {}
    for job_id, kind, status, n in rows:
        grouped.setdefault(job_id, {}).setdefault(kind, []).append((status, n))
    return {job_id: JobCounts(_counts(grouped.get(job_id, {}).get("clip", [])),
                              _counts(grouped.get(job_id, {}).get("music", [])))
            for job_id in job_ids}


def job_counts(conn: sqlite3.Connection, job_id: int) -> JobCounts:
    return jobs_counts(conn, [job_id])[job_id]


def list_jobs(conn: sqlite3.Connection, *, scope: Scope, limit: int, offset: int,
              status: str | None = None, campaign_id: str | None = None,
              client_id: str | None = None, with_video: bool = False) -> tuple[list[Job], int]:
    where = f"""{scope_sql()}
        AND (:status IS NULL OR status = :status)
        AND (:campaign_id IS NULL OR campaign_id = :campaign_id)
        AND (:client_id IS NULL OR client_id = :client_id)
        AND (:with_video = 0 OR video_blob_id IS NOT NULL)"""
    params = {**scope.params, "status": status, "campaign_id": campaign_id,
              "client_id": client_id, "with_video": 1 if with_video else 0}
    rows = conn.execute(
        f"""
        SELECT {JOB_COLUMNS} FROM jobs WHERE {where}
        ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset
        """,
        {**params, "limit": limit, "offset": offset},
    ).fetchall()
    total = conn.execute(f"SELECT count(*) FROM jobs WHERE {where}", params).fetchone()[0]
    return [job_from_row(r) for r in rows], int(total)


def list_clips(conn: sqlite3.Connection, *, scope: Scope, limit: int, offset: int,
               status: str | None) -> tuple[list[SubJob], int]:
    """Sub-jobs of the caller's jobs, newest first (the gallery's ``/ai-videos``)."""
    where = f"""j.id = s.job_id AND s.kind = 'clip' AND {scope_sql('j')}
        AND (:status IS NULL OR s.status = :status)"""
    params = {**scope.params, "status": status}
    columns = ", ".join(f"s.{c.strip()}" for c in SUB_JOB_COLUMNS.split(","))
    rows = conn.execute(
        f"""
        SELECT {columns} FROM sub_jobs s, jobs j WHERE {where}
        ORDER BY s.created_at DESC, s.scene_number LIMIT :limit OFFSET :offset
        """,
        {**params, "limit": limit, "offset": offset},
    ).fetchall()
    total = conn.execute(f"SELECT count(*) FROM sub_jobs s, jobs j WHERE {where}",
                         params).fetchone()[0]
    return [sub_job_from_row(r) for r in rows], int(total)


def replace_storyboard(conn: sqlite3.Connection, job_id: int, *, storyboard: dict[str, Any],
                       estimated_cost: float | None, now: str) -> None:
    """Save an edited storyboard; only while the job waits for approval."""
    cur = conn.execute(
        """
        UPDATE jobs SET storyboard = :storyboard, estimated_cost = :estimated_cost,
                        updated_at = :now
        WHERE id = :id AND status = 'storyboard_ready'
        """,
        {"id": job_id, "storyboard": dump_json(storyboard), "estimated_cost": estimated_cost,
         "now": now},
    )
    if cur.rowcount == 0:
        raise Conflict("Scenes can only be changed while the storyboard awaits approval")


def campaign_image_count(conn: sqlite3.Connection, campaign_id: str) -> int:
    return int(conn.execute(
        """
        SELECT count(*) FROM assets
        WHERE campaign_id = :campaign_id AND asset_type = 'image'
        """,
        {"campaign_id": campaign_id},
    ).fetchone()[0])


def owns_asset(conn: sqlite3.Connection, asset_id: str, *, scope: Scope,
               asset_type: str | None = None) -> bool:
    """Whether ``scope`` may use asset ``asset_id`` (of ``asset_type``, when given) in a job."""
    row = conn.execute(
        f"""
        SELECT 1 FROM assets
        WHERE id = :id AND (:asset_type IS NULL OR asset_type = :asset_type) AND {scope_sql()}
        """,
        {"id": asset_id, "asset_type": asset_type, **scope.params},
    ).fetchone()
    return row is not None
