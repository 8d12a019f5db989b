"""Previews (issue 19): the SQL of the ``previews`` table, and nothing else.

A job's preview row is replaced, never duplicated, when its storyboard changes
(:func:`start_job_preview`); the render that finishes writes its blob only if the row still
shows the version it rendered (:func:`finish_preview`), so an edit during a render can never
leave an old picture marked ready for a new storyboard.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from actorvid.store.models import Scope, dump_json, load_json, scope_sql

COLUMNS = ("id, job_id, user_id, rendered_for, status, blob_id, duration, error, input, "
           "expires_at, created_at, updated_at")
STATUSES = ("rendering", "ready", "failed", "cancelled")


@dataclass(frozen=True)
class Preview:
    id: str
    job_id: int | None
    user_id: int
    rendered_for: str
    status: str
    blob_id: str | None
    duration: float | None
    error: str | None
    input: dict[str, Any]
    expires_at: str | None
    created_at: str
    updated_at: str


def _preview(row: sqlite3.Row) -> Preview:
    return Preview(id=row["id"], job_id=row["job_id"], user_id=row["user_id"],
                   rendered_for=row["rendered_for"], status=row["status"],
                   blob_id=row["blob_id"], duration=row["duration"], error=row["error"],
                   input=load_json(row["input"], {}), expires_at=row["expires_at"],
                   created_at=row["created_at"], updated_at=row["updated_at"])


def get_preview(conn: sqlite3.Connection, preview_id: str, *, scope: Scope | None = None
                ) -> Preview | None:
    where = "id = :id" + (f" AND {scope_sql()}" if scope is not None else "")
    row = conn.execute(f"SELECT {COLUMNS} FROM previews WHERE {where}",
                       {"id": preview_id, **(scope.params if scope else {})}).fetchone()
    return _preview(row) if row else None


def job_preview(conn: sqlite3.Connection, job_id: int) -> Preview | None:
    row = conn.execute(f"SELECT {COLUMNS} FROM previews WHERE job_id = :job_id",
                       {"job_id": job_id}).fetchone()
    return _preview(row) if row else None


def start_job_preview(conn: sqlite3.Connection, job_id: int, *, preview_id: str, user_id: int,
                      rendered_for: str, now: str) -> Preview:
    """The job's one preview row, now rendering ``rendered_for`` (the old blob goes with the
    old version: the replace trigger deletes it)."""
    conn.execute(
        """
        INSERT INTO previews (id, job_id, user_id, rendered_for, status, created_at, updated_at)
        VALUES (:id, :job_id, :user_id, :rendered_for, 'rendering', :now, :now)
        ON CONFLICT (job_id) DO UPDATE SET
            id = excluded.id, rendered_for = excluded.rendered_for, status = 'rendering',
            blob_id = NULL, duration = NULL, error = NULL, updated_at = excluded.updated_at
        """,
        {"id": preview_id, "job_id": job_id, "user_id": user_id,
         "rendered_for": rendered_for, "now": now})
    found = job_preview(conn, job_id)
    assert found is not None
    return found


def insert_draft(conn: sqlite3.Connection, *, preview_id: str, user_id: int, rendered_for: str,
                 input: dict[str, Any], expires_at: str, now: str) -> Preview:
    """A dry-run preview: no job, its inputs kept (a restart renders it again), an expiry."""
    conn.execute(
        """
        INSERT INTO previews (id, user_id, rendered_for, status, input, expires_at,
                              created_at, updated_at)
        VALUES (:id, :user_id, :rendered_for, 'rendering', :input, :expires_at, :now, :now)
        """,
        {"id": preview_id, "user_id": user_id, "rendered_for": rendered_for,
         "input": dump_json(input), "expires_at": expires_at, "now": now})
    found = get_preview(conn, preview_id)
    assert found is not None
    return found


def finish_preview(conn: sqlite3.Connection, preview_id: str, *, rendered_for: str,
                   status: str, now: str, blob_id: str | None = None,
                   duration: float | None = None, error: str | None = None) -> bool:
    """End a render; False (nothing written) when the row moved on to another version or was
    removed meanwhile — the caller then discards its output."""
    cur = conn.execute(
        """
        UPDATE previews SET status = :status, blob_id = :blob_id, duration = :duration,
                            error = :error, updated_at = :now
        WHERE id = :id AND rendered_for = :rendered_for AND status = 'rendering'
        """,
        {"id": preview_id, "rendered_for": rendered_for, "status": status,
         "blob_id": blob_id, "duration": duration, "error": error, "now": now})
    return cur.rowcount == 1


def delete_job_preview(conn: sqlite3.Connection, job_id: int) -> bool:
    return conn.execute("DELETE FROM previews WHERE job_id = :job_id",
                        {"job_id": job_id}).rowcount > 0


def rendering(conn: sqlite3.Connection) -> list[Preview]:
    """Renders that were in flight (what a restart renders again), oldest first."""
    rows = conn.execute(f"SELECT {COLUMNS} FROM previews WHERE status = 'rendering' "
                        "ORDER BY created_at").fetchall()
    return [_preview(r) for r in rows]


def delete_expired(conn: sqlite3.Connection, now: str) -> int:
    """Remove dry-run previews past their expiry (their blobs go with them)."""
    return conn.execute("DELETE FROM previews WHERE expires_at IS NOT NULL AND expires_at <= :now",
                        {"now": now}).rowcount
