"""Change stamps move with every row they cover, even a row written with an older ``now``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from actorvid.store import clients as client_store
from actorvid.store import jobs as job_store
from actorvid.store import stamps
from actorvid.store.db import open_database
from actorvid.store.jobs import NewSubJob
from actorvid.store.models import Scope
from tests.actors.helpers import make_user


def _client(conn: sqlite3.Connection, user: int, client_id: str, *, now: str
            ) -> client_store.Client:
    return client_store.create_client(conn, client_id=client_id, user_id=user, name=client_id,
                                      description="", homepage=None, brand_guidelines=None,
                                      metadata=None, now=now)


def test_a_write_with_an_older_now_still_moves_the_listing_stamps(tmp_path: Path) -> None:
    db = open_database(tmp_path / "stamps.db")
    try:
        user = make_user(db)
        scope = Scope(user)
        with db.write() as conn:
            first = _client(conn, user, "a", now="2026-12-02T10:00:00.000Z")
            _client(conn, user, "b", now="2026-12-02T10:00:05.000Z")
            job = job_store.create_job(conn, user_id=user, type="standard", parameters={},
                                       now="2026-12-02T10:00:00.000Z")
            job_store.insert_sub_jobs(conn, job.id, [
                NewSubJob(f"s{n}", n, "p", 4.0, "veo3") for n in (1, 2)],
                now="2026-12-02T10:00:00.000Z")
        with db.read() as conn:
            clients_before = stamps.table_stamp(conn, "clients", scope=scope)
            jobs_before = stamps.jobs_stamp(conn, scope=scope)
        # Two racing requests: this one took its ``now`` before B's write but commits after.
        with db.write() as conn:
            client_store.update_client(conn, first.id, {"name": "A2"}, scope=scope,
                                       now="2026-12-02T10:00:03.000Z")
            conn.execute("UPDATE sub_jobs SET status = 'failed', "
                         "updated_at = '2026-12-02T09:59:59.000Z' WHERE id = 's1'")
        with db.read() as conn:
            assert stamps.table_stamp(conn, "clients", scope=scope) != clients_before
            assert stamps.jobs_stamp(conn, scope=scope) != jobs_before
    finally:
        db.close()
