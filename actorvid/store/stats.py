"""Counts for the metrics endpoint, read at scrape time (cheap aggregate queries)."""

from __future__ import annotations

import sqlite3


def jobs_by_status(conn: sqlite3.Connection) -> dict[str, int]:
    return {row[0]: row[1] for row in conn.execute(
        "SELECT status, COUNT(*) FROM jobs GROUP BY status")}


def sub_jobs_in_flight(conn: sqlite3.Connection) -> dict[str, int]:
    """Sub-jobs being made right now (``processing``), by kind (``clip``, ``music``)."""
    return {row[0]: row[1] for row in conn.execute(
        "SELECT kind, COUNT(*) FROM sub_jobs WHERE status = 'processing' GROUP BY kind")}


def blob_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of the complete blobs (uploads, clips, videos, thumbnails, music)."""
    return int(conn.execute("SELECT COALESCE(SUM(size), 0) FROM blobs WHERE complete = 1"
                            ).fetchone()[0])


def database_bytes(conn: sqlite3.Connection) -> int:
    """The main database file's size in pages (the WAL file comes on top until a checkpoint)."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int(pages) * int(size)
