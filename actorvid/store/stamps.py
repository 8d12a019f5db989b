"""Change stamps: what a conditional GET compares instead of building its answer.

A stamp is read from the rows' ``updated_at`` (and ``status``) columns only, in one indexed
query, so an unchanged poll costs that query and nothing else. ``updated_at`` has millisecond
precision; the status rides along so that two writes in one millisecond which change the state
still change the stamp. Every write that changes what an answer shows bumps ``updated_at``
(the stores set it on each UPDATE), and deletions change the row count.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Hashable

from actorvid.store.db import Database
from actorvid.store.models import Scope


def _visible(scope: Scope, alias: str = "") -> str:
    """The caller's rows, spelled so SQLite can search ``(user_id, ...)`` indexes; the shared
    ``scope_sql`` form ``(:scope_admin = 1 OR user_id = ...)`` makes it scan them."""
    prefix = f"{alias}." if alias else ""
    return "1" if scope.is_admin else f"{prefix}user_id = :scope_user_id"


def _digest(*parts: object) -> str:
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def job_stamp(conn: sqlite3.Connection, job_id: int, *, scope: Scope) -> str | None:
    """The stamp of job ``job_id``, its sub-jobs (progress is derived from those rows) and its
    preview; ``None`` when no such job is visible to ``scope`` (the caller then answers 404
    as usual). One query: the job by primary key, its sub-jobs by the ``(job_id, kind,
    scene_number)`` unique index, its preview by the unique ``job_id``.

    Every sub-job's own ``updated_at`` is in it, not only the newest: a write whose ``now``
    was taken before another's but committed after it (an actor's retry landing behind a
    sibling's progress) moves an older row, and the newest stamp would not show it. Rendered
    answers are kept by this stamp (``api/answers.py``), so it must cover every row the
    answer shows: the job row (status, storyboard, costs, result, blob ids behind the URLs),
    every sub-job (status, error, clip), the preview row."""
    row = conn.execute(
        f"""
        SELECT j.updated_at, j.status,
               (SELECT count(*) || '/' || group_concat(s.status || '@' || s.updated_at, ',')
                FROM sub_jobs s WHERE s.job_id = j.id),
               (SELECT p.status || '/' || p.rendered_for || '/' || p.updated_at
                FROM previews p WHERE p.job_id = j.id)
        FROM jobs j WHERE j.id = :id AND {_visible(scope, 'j')}
        """,
        {"id": job_id, **scope.params},
    ).fetchone()
    if row is None:
        return None
    return _digest("job", job_id, *row)


# The sum of the rows' stamps as integer milliseconds since 2020 (so 64-bit integers hold the
# sum of tens of millions of rows): it changes whenever one row's stamp changes, whatever the
# newest one is.
_SUM = "ifnull(sum(CAST(round((julianday({column}) - 2458849.5) * 86400000) AS INTEGER)), 0)"

# The tables whose listings carry a stamp; names are never taken from a request.
_LISTED = frozenset({"clients", "campaigns", "assets"})


def table_stamp(conn: sqlite3.Connection, table: str, *, scope: Scope,
                stamp_column: str = "updated_at") -> str:
    """The stamp of every row of ``table`` that ``scope`` sees: the count, the newest stamp
    and the sum of all of them. Coarser than one page (any change in the caller's rows makes a
    new stamp), never staler: the sum moves when any row's stamp does, even one written with
    a ``now`` older than the newest (two requests racing for the writer), which the newest
    alone would not show. It reads the ``(user_id, updated_at)`` index only."""
    if table not in _LISTED:
        raise ValueError(f"no stamp for table {table!r}")
    row = conn.execute(
        f"SELECT count(*), max({stamp_column}), {_SUM.format(column=stamp_column)} "
        f"FROM {table} WHERE {_visible(scope)}",
        scope.params).fetchone()
    return _digest(table, scope.user_id, scope.is_admin, *row)


def jobs_stamp(conn: sqlite3.Connection, *, scope: Scope) -> str:
    """The stamp of the caller's jobs and their sub-jobs (a listing shows scene counts): counts,
    newest stamps and the sums of all stamps (see :func:`table_stamp` for why the sums)."""
    row = conn.execute(
        f"""
        SELECT count(*), max(j.updated_at), {_SUM.format(column='j.updated_at')},
               (SELECT count(*) || '/' || ifnull(max(s.updated_at), '') || '/'
                       || {_SUM.format(column='s.updated_at')}
                FROM sub_jobs s JOIN jobs j2 ON j2.id = s.job_id WHERE {_visible(scope, 'j2')})
        FROM jobs j WHERE {_visible(scope, 'j')}
        """,
        scope.params).fetchone()
    return _digest("jobs", scope.user_id, scope.is_admin, *row)


class StampMemo:
    """The stamps above, each kept until the database's next commit.

    A stamp changes only when a write commits, and :attr:`Database.commits` counts every
    commit the owning process makes (see ``store/db.CommitCount``). So a stamp read while the
    count was N is still the answer while the count is N, and a poll of something unchanged
    reads no SQLite at all. That is worth more than the query's CPU suggests: every sqlite3
    call gives up the GIL, and under 16 busy threads taking it back is a wait (issue 17: the
    /clients conditional hit went from ~2,700 to ~4,500 req/s without its query).

    The count is read before the query, so a commit landing during it leaves the stamp kept
    under the older count and the next request reads it again; a stamp is never kept under a
    count newer than the rows it saw.
    """

    def __init__(self, db: Database, *, max_entries: int = 10_000) -> None:
        self._db = db
        self.max_entries = max_entries
        self._kept: dict[Hashable, tuple[int, str | None]] = {}

    def table_stamp(self, conn: sqlite3.Connection, table: str, *, scope: Scope,
                    stamp_column: str = "updated_at") -> str:
        stamp = self._read(("table", table, stamp_column, scope.user_id, scope.is_admin),
                           lambda: table_stamp(conn, table, scope=scope,
                                               stamp_column=stamp_column))
        assert stamp is not None
        return stamp

    def job_stamp(self, conn: sqlite3.Connection, job_id: int, *, scope: Scope) -> str | None:
        return self._read(("job", job_id, scope.user_id, scope.is_admin),
                          lambda: job_stamp(conn, job_id, scope=scope))

    def jobs_stamp(self, conn: sqlite3.Connection, *, scope: Scope) -> str:
        stamp = self._read(("jobs", scope.user_id, scope.is_admin),
                           lambda: jobs_stamp(conn, scope=scope))
        assert stamp is not None
        return stamp

    def _read(self, key: Hashable, read: Callable[[], str | None]) -> str | None:
        commits = self._db.commits
        kept = self._kept.get(key)
        if kept is not None and kept[0] == commits:
            return kept[1]
        stamp = read()
        if len(self._kept) >= self.max_entries:
            self._kept.clear()  # stale entries of old counts are most of it; refilled on use
        self._kept[key] = (commits, stamp)
        return stamp
