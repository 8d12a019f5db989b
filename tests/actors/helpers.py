"""Helpers for the actor tests (importable from tests and from the subprocess script)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from actorvid.clock import now_iso
from actorvid.store import jobs
from actorvid.store.db import Database
from tests.conftest import wait_until as shared_wait_until

T = TypeVar("T")


def wait_until(predicate: Callable[[], T | None], timeout: float = 30.0, *,
               interval: float = 0.005, message: str = "condition") -> T:
    """The suite's :func:`tests.conftest.wait_until`, with the actor tests' tighter polling."""
    return shared_wait_until(predicate, timeout=timeout, interval=interval, message=message)


def make_user(db: Database, name: str = "ann", *, is_admin: bool = False) -> int:
    with db.write() as conn:
        cur = conn.execute(
            """
            INSERT INTO users (username, email, password_hash, is_admin, created_at)
            VALUES (:name, :email, 'x', :is_admin, :now)
            """,
            {"name": name, "email": f"{name}@example.com", "is_admin": int(is_admin),
             "now": now_iso()},
        )
        assert cur.lastrowid is not None
        return cur.lastrowid


def make_job(db: Database, user_id: int, *, scenes: int = 2, type: str = "standard",
             **parameters: object) -> int:
    with db.write() as conn:
        return jobs.create_job(conn, user_id=user_id, type=type,
                               parameters={"scenes": scenes, **parameters}, now=now_iso()).id


def job_row(db: Database, job_id: int) -> jobs.Job:
    with db.read() as conn:
        return jobs.get_job(conn, job_id)


def scene_rows(db: Database, job_id: int) -> list[jobs.SubJob]:
    with db.read() as conn:
        return jobs.list_sub_jobs(conn, job_id)
