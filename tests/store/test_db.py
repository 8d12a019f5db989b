"""The SQLite layer on real files: pragmas, migrations, concurrency."""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest

from actorvid.store.blobs import blob_info, write_blob
from actorvid.store.db import WAL_KEEP_BYTES, WAL_LIMIT_BYTES, DatabaseClosed, open_database
from actorvid.store.migrations import apply_migrations, current_version, latest_version
from tests.conftest import wait_until


def test_fresh_file_is_wal_with_foreign_keys_and_latest_schema(tmp_path):
    db = open_database(tmp_path / "a.db")
    try:
        with db.read() as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
            assert current_version(conn) == latest_version()
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"users", "api_keys", "sessions", "clients", "campaigns", "blobs",
                "blob_chunks"} <= tables
    finally:
        db.close()


def test_migrations_are_idempotent_and_upgrade_from_each_version(tmp_path):
    for start in range(0, latest_version() + 1):
        path = tmp_path / f"v{start}.db"
        db = open_database(path, migrate=False)
        try:
            apply_migrations(db, target=start)
            with db.read() as conn:
                assert current_version(conn) == start
            applied = apply_migrations(db)
            assert applied == list(range(start + 1, latest_version() + 1))
            assert apply_migrations(db) == []
        finally:
            db.close()


def test_readers_cannot_write(tmp_path):
    db = open_database(tmp_path / "a.db")
    try:
        with db.read() as conn, pytest.raises(sqlite3.OperationalError):
            conn.execute("DELETE FROM users")
    finally:
        db.close()


def test_a_failed_write_rolls_back(tmp_path):
    db = open_database(tmp_path / "a.db")
    try:
        with pytest.raises(RuntimeError), db.write() as conn:
            conn.execute("""INSERT INTO users (username, email, password_hash, created_at)
                            VALUES ('x', 'x@x', 'h', 'now')""")
            raise RuntimeError("boom")
        with db.read() as conn:
            assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0
    finally:
        db.close()


def test_a_burst_of_writes_from_many_threads_never_locks(tmp_path):
    db = open_database(tmp_path / "a.db", read_pool_size=4)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(50):
                with db.write() as conn:
                    conn.execute("""INSERT INTO users (username, email, password_hash,
                                    created_at) VALUES (?, ?, 'h', 'now')""",
                                 (f"u{n}-{i}", f"u{n}-{i}@x"))
                with db.read() as conn:
                    conn.execute("SELECT count(*) FROM users").fetchone()
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert errors == []
        with db.read() as conn:
            assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 1000
    finally:
        db.close()


def test_closed_database_refuses_work(tmp_path):
    db = open_database(tmp_path / "a.db")
    db.close()
    db.close()  # idempotent
    with pytest.raises(DatabaseClosed), db.read():
        pass


def test_writes_are_checkpointed_off_the_writing_thread_and_the_wal_is_bounded(tmp_path):
    def checkpointers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "actorvid-checkpoint"}

    others = checkpointers()
    path = tmp_path / "a.db"
    db = open_database(path)
    assert len(checkpointers() - others) == 1
    try:
        with db.write() as conn:
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            # The writer only checkpoints itself once the WAL reaches the bound ...
            assert (conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
                    == WAL_LIMIT_BYTES // page_size)
            # ... and a WAL that grew past the kept size is cut back when it starts over.
            assert conn.execute("PRAGMA journal_size_limit").fetchone()[0] == WAL_KEEP_BYTES
        before = path.stat().st_size
        blob = write_blob(db, [os.urandom(1024 * 1024)] * 6)
        # The 6 MiB went to the WAL; the background checkpoint copies them into the file.
        wait_until(lambda: path.stat().st_size >= before + 6 * 1024 * 1024, timeout=30,
                   message="the background checkpoint")
        assert blob_info(db, blob.id).size == 6 * 1024 * 1024
    finally:
        db.close()
    # Closing stops the checkpoint thread (a test suite opens hundreds of databases).
    assert checkpointers() <= others
