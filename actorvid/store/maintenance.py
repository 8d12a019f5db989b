"""The operator's two tools on the database file: an online backup and a check.

Both are safe while the server runs. The backup is SQLite's online backup API in one step: it
reads one consistent snapshot while writers go on in the WAL (a step-wise backup would start
over at every write from the server and might never finish). The check reads only: integrity,
blobs that no row references, and jobs that say they are working but have not changed for a
long time (their actor is gone or stuck).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from actorvid.clock import isoformat_z

# A blob's own pieces reference it; they do not keep it alive.
_NOT_REFERENCES = frozenset({"blob_chunks"})
# Statuses in which a job's actor should be moving it on; storyboard_ready waits for a person.
WORKING_STATUSES = ("pending", "storyboard_processing", "video_processing")


class MaintenanceError(Exception):
    """A backup or check that could not run or did not succeed; the message is for people."""


@contextlib.contextmanager
def _open_existing(path: Path) -> Iterator[sqlite3.Connection]:
    # sqlite3.connect would create an empty database where the file is missing.
    if not path.is_file():
        raise MaintenanceError(f"{path}: no such database file")
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("PRAGMA query_only = ON")
        yield conn
    finally:
        conn.close()


def integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """``PRAGMA integrity_check``'s findings; empty when the file is sound."""
    rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    return [] if rows == ["ok"] else rows


def backup(source: Path, dest: Path) -> int:
    """Copy ``source`` to ``dest`` (which must not exist), check the copy, return its size.

    The copy is written next to ``dest`` first, readable only by its owner (it holds every
    user's data), and renamed into place only once its integrity check passed; it is a single
    file (rollback journal), ready to be restored by copying it over a stopped server's.
    """
    if dest.exists():
        raise MaintenanceError(f"{dest} exists; choose a new file name")
    partial = dest.with_name(dest.name + ".partial")
    with _open_existing(source) as src:
        partial.unlink(missing_ok=True)
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        try:
            copy = sqlite3.connect(partial)
            try:
                src.backup(copy)
                copy.execute("PRAGMA journal_mode = DELETE")
                problems = integrity_problems(copy)
            finally:
                copy.close()
            if problems:
                raise MaintenanceError("the copy failed its integrity check: "
                                       + "; ".join(problems[:5]))
            os.replace(partial, dest)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return dest.stat().st_size


@dataclass(frozen=True)
class StuckJob:
    id: int
    status: str
    stage: str
    updated_at: str


@dataclass
class CheckReport:
    path: Path
    integrity: list[str] = field(default_factory=list)
    orphan_blobs: list[tuple[str, int]] = field(default_factory=list)  # (id, size)
    stuck_jobs: list[StuckJob] = field(default_factory=list)
    stale_after: timedelta = timedelta(hours=1)

    @property
    def problems(self) -> int:
        return (1 if self.integrity else 0) + len(self.orphan_blobs) + len(self.stuck_jobs)

    def lines(self) -> list[str]:
        """The report for a terminal: one line per finding, and a verdict."""
        minutes = int(self.stale_after.total_seconds() // 60)
        out = [f"database: {self.path}",
               "integrity: " + ("ok" if not self.integrity else "FAILED")]
        out += [f"  {problem}" for problem in self.integrity[:20]]
        wasted = sum(size for _, size in self.orphan_blobs)
        out.append(f"orphan blobs (no row references them, older than {minutes} min): "
                   f"{len(self.orphan_blobs)}" + (f", {wasted} bytes" if wasted else ""))
        out += [f"  blob {blob_id} ({size} bytes)" for blob_id, size in self.orphan_blobs]
        out.append(f"stuck jobs (working, unchanged for {minutes} min): {len(self.stuck_jobs)}")
        out += [f"  job {job.id}: {job.status}/{job.stage}, last change {job.updated_at}"
                for job in self.stuck_jobs]
        out.append("no problems found" if not self.problems
                   else f"{self.problems} problem(s) found")
        return out


def blob_references(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every ``(table, column)`` whose foreign key points at ``blobs``, read from the schema
    so that a later migration's new blob column is counted without touching this code."""
    found: list[tuple[str, str]] = []
    tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                          "AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
    for (table,) in tables:
        if table in _NOT_REFERENCES:
            continue
        for key in conn.execute("SELECT \"table\", \"from\" FROM pragma_foreign_key_list(?)",
                                (table,)):
            if key[0] == "blobs":
                found.append((table, key[1]))
    return found


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check(path: Path, *, now: datetime, stale_after: timedelta = timedelta(hours=1)
          ) -> CheckReport:
    """Read ``path`` and report what an operator should look at (see :class:`CheckReport`).

    Blobs and jobs younger than ``stale_after`` are left out: a blob is stored a moment
    before the row that references it, and a job's step may rightly take minutes.
    """
    report = CheckReport(path, stale_after=stale_after)
    cutoff = isoformat_z(now - stale_after)
    with _open_existing(path) as conn:
        report.integrity = integrity_problems(conn)
        unreferenced = " AND ".join(
            f"NOT EXISTS (SELECT 1 FROM {_quote(table)} WHERE {_quote(column)} = b.id)"
            for table, column in blob_references(conn)) or "1"
        report.orphan_blobs = [
            (str(row[0]), int(row[1])) for row in conn.execute(
                f"SELECT b.id, b.size FROM blobs b WHERE b.complete = 1 AND b.created_at < ? "
                f"AND {unreferenced} ORDER BY b.created_at", (cutoff,))]
        marks = ", ".join("?" for _ in WORKING_STATUSES)
        report.stuck_jobs = [
            StuckJob(int(row[0]), row[1], row[2], row[3]) for row in conn.execute(
                f"SELECT id, status, stage, updated_at FROM jobs WHERE status IN ({marks}) "
                "AND updated_at < ? ORDER BY id", (*WORKING_STATUSES, cutoff))]
    return report
