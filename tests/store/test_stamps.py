"""Change stamps move with every row they cover, even a row written with an older ``now``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from actorvid.domain.scenes import PlannedScene
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
                NewSubJob(f"s{n}", PlannedScene(n, "p", 4.0, "veo3")) for n in (1, 2)],
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


def _counting_reads(conn: sqlite3.Connection) -> list[str]:
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    return statements


def test_the_memo_reads_sqlite_again_only_after_a_commit(tmp_path: Path) -> None:
    db = open_database(tmp_path / "memo.db")
    # A second Database over the same file, as an app built twice in one process has.
    other = open_database(tmp_path / "memo.db")
    try:
        user = make_user(db)
        scope = Scope(user)
        memo = stamps.StampMemo(db)
        with db.write() as conn:
            _client(conn, user, "a", now="2026-12-02T10:00:00.000Z")
        with db.read() as conn:
            statements = _counting_reads(conn)
            first = memo.table_stamp(conn, "clients", scope=scope)
            assert memo.table_stamp(conn, "clients", scope=scope) == first
            assert memo.job_stamp(conn, 999, scope=scope) is None
            assert memo.job_stamp(conn, 999, scope=scope) is None
            assert len(statements) == 2  # one query per stamp, none for the repeats
            conn.set_trace_callback(None)
        with other.write() as conn:
            _client(conn, user, "b", now="2026-12-02T10:00:01.000Z")
        with db.read() as conn:
            statements = _counting_reads(conn)
            second = memo.table_stamp(conn, "clients", scope=scope)
            assert second != first and len(statements) == 1
            conn.set_trace_callback(None)
        # The same stamp straight from SQLite: the memo kept nothing stale.
        with db.read() as conn:
            assert stamps.table_stamp(conn, "clients", scope=scope) == second
    finally:
        other.close()
        db.close()


def test_a_commit_during_the_stamp_query_makes_the_next_poll_read_again(tmp_path: Path
                                                                        ) -> None:
    db = open_database(tmp_path / "race.db")
    try:
        user = make_user(db)
        scope = Scope(user)
        memo = stamps.StampMemo(db)
        statements: list[str] = []

        def commit_while_reading(sql: str) -> None:
            statements.append(sql)
            if len(statements) == 1:  # the stamp query has started: another write commits
                with db.write() as conn:
                    _client(conn, user, "late", now="2026-12-02T10:00:00.000Z")

        with db.read() as conn:
            conn.set_trace_callback(commit_while_reading)
            memo.table_stamp(conn, "clients", scope=scope)
            # Kept under the count read before the query, which the commit has moved past.
            latest = memo.table_stamp(conn, "clients", scope=scope)
            conn.set_trace_callback(None)
            assert len(statements) == 2
            assert latest == stamps.table_stamp(conn, "clients", scope=scope)
    finally:
        db.close()
