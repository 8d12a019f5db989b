"""Helpers for the actor tests (importable from tests and from the subprocess script)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from actorvid.clock import now_iso
from actorvid.store import jobs
from actorvid.store.db import Database


def wait_until(predicate: Callable[[], object], timeout: float = 5.0, *,
               interval: float = 0.005, message: str = "condition") -> object:
    """Poll ``predicate`` until it is truthy or ``timeout`` passes (then fail the test)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message}")
        # Not a settle-sleep: a short poll interval while waiting on a deadline.
        threading.Event().wait(interval)


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
