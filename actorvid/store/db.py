"""The SQLite database: one writer connection behind a lock, a bounded pool of readers.

Every connection is configured by :func:`connect` (WAL, foreign keys, busy timeout,
``synchronous=NORMAL``). Writes go through :meth:`Database.write`, which serialises them in this
process and runs each one in ``BEGIN IMMEDIATE`` so a burst of small state writes queues on a
Python lock instead of failing with ``database is locked``. Reads borrow a ``query_only``
connection from a fixed pool, so a thousand actors never mean a thousand connections.
A connection is used by one thread at a time; it may move between threads (hence
``check_same_thread=False``), never be shared.

Checkpoints (copying the WAL back into the file, and syncing both) run on a thread of their
own, :class:`Checkpointer`, shortly after writes: SQLite's default ran one on the writing
thread every ~4 MiB of WAL, so an upload wrote each byte twice and waited for the disk on the
request's time (issue 17). The writer still checkpoints itself past :data:`WAL_LIMIT_BYTES` of
WAL, which bounds the file if the background checkpoints ever fall behind.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from actorvid.errors import ServiceUnavailable, StoreError
from actorvid.store.migrations import apply_migrations

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 15_000
POOL_WAIT_SECONDS = 30.0

# The background checkpoint runs once writes have been quiet this long, and at the latest
# this long after the first write it has not yet copied back: so under steady writes the
# WAL holds about a second of them, and a write is synced to disk within about a second.
CHECKPOINT_QUIET_SECONDS = 0.1
CHECKPOINT_MAX_DELAY_SECONDS = 1.0
# The writer checkpoints on its own thread (SQLite's autocheckpoint) once the WAL holds this
# much: the bound if the background thread falls behind. It is above the largest upload
# (200 MiB by default), so no upload waits for a checkpoint; 256 MiB of disk is the price.
WAL_LIMIT_BYTES = 256 * 1024 * 1024
# After a checkpoint lets the WAL start again from its beginning, SQLite truncates the file
# to this size, so one big upload does not leave a 200 MiB -wal file behind.
WAL_KEEP_BYTES = 64 * 1024 * 1024


def connect(path: Path | str, *, read_only: bool = False) -> sqlite3.Connection:
    """Open one connection to ``path`` configured the way every actorvid connection is."""
    conn = sqlite3.connect(
        str(path),
        isolation_level=None,  # autocommit; transactions are spelled out with BEGIN
        check_same_thread=False,
        timeout=BUSY_TIMEOUT_MS / 1000,
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    if read_only:
        conn.execute("PRAGMA query_only = ON")
        # Readers mostly stream blob chunks: a small page cache each keeps a pool of them
        # from holding megabytes of video pages.
        conn.execute("PRAGMA cache_size = -1024")
    return conn


# SQLite creates ``-wal``, ``-shm`` and ``-journal`` with the mode of the database file, so a
# private database file makes all of them private.
PRIVATE_FILE_MODE = 0o600
_COMPANIONS = ("", "-wal", "-shm", "-journal")


def make_private(path: Path) -> None:
    """Create ``path`` as 0600 if missing and take group/other access from it and its
    companions: they hold every tenant's data and the credential hashes."""
    if str(path) == ":memory:":
        return
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE))
    for suffix in _COMPANIONS:
        companion = Path(f"{path}{suffix}")
        try:
            if companion.stat().st_mode & 0o077:
                os.chmod(companion, PRIVATE_FILE_MODE)
        except FileNotFoundError:
            continue
        except PermissionError:  # someone else's file: report it, do not fail the start
            logger.warning("%s is readable by others and not ours to change", companion)


class CommitCount:
    """How many write transactions have committed to one file in this process.

    Shared by every :class:`Database` over that file (tests and ``create_app`` may open one
    twice), so a cache keyed by it (``store/stamps.StampMemo``) sees every write this process
    makes; the other processes allowed beside a server (``users create``, ``keys create``)
    take no owner lock and only add users and keys.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def bump(self) -> None:
        with self._lock:
            self.value += 1


_commit_counts: weakref.WeakValueDictionary[str, CommitCount] = weakref.WeakValueDictionary()
_commit_counts_lock = threading.Lock()


def _commit_count(path: Path) -> CommitCount:
    key = str(path) if str(path) == ":memory:" else os.path.realpath(path)
    with _commit_counts_lock:
        count = _commit_counts.get(key)
        if count is None:
            count = _commit_counts[key] = CommitCount()
        return count


class DatabaseClosed(StoreError):
    message = "The database is closed"


class Database:
    """Owns the connections to one SQLite file. Open with :func:`open_database`."""

    def __init__(self, path: Path | str, *, read_pool_size: int = 8) -> None:
        self.path = Path(path)
        make_private(self.path)
        self._write_lock = threading.RLock()
        self._write_owner: int | None = None  # the thread inside write(), if any
        self._commits = _commit_count(self.path)
        self._writer = connect(self.path)
        mode = self._writer.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        self._checkpointer: Checkpointer | None = None
        if str(mode).lower() == "wal":
            page_size = self._writer.execute("PRAGMA page_size").fetchone()[0]
            self._writer.execute(
                f"PRAGMA wal_autocheckpoint = {max(1000, WAL_LIMIT_BYTES // page_size)}")
            self._writer.execute(f"PRAGMA journal_size_limit = {WAL_KEEP_BYTES}")
            self._checkpointer = Checkpointer(self.path)
        elif str(self.path) != ":memory:":
            logger.warning("journal_mode is %s, not wal, for %s", mode, self.path)
        self._pool: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._pool_size = read_pool_size
        self._opened_readers = 0
        self._pool_lock = threading.Lock()
        self._all_readers: list[sqlite3.Connection] = []
        self._closed = False

    # --- transactions ----------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """Run a write transaction (``BEGIN IMMEDIATE``); commit on success, roll back on error.

        Nested calls on the same thread join the outer transaction.
        """
        self._check_open()
        with self._write_lock:
            conn = self._writer
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            self._write_owner = threading.get_ident()
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
                self._commits.bump()
                if self._checkpointer is not None:
                    self._checkpointer.wrote()
            finally:
                self._write_owner = None

    @property
    def commits(self) -> int:
        """Write transactions committed to this file by this process so far: it moves after
        every commit, never before the commit is visible to readers."""
        return self._commits.value

    def writing_here(self) -> bool:
        """Whether the calling thread is inside :meth:`write` (another thread that calls
        :meth:`write` now would wait for this one)."""
        return self._write_owner == threading.get_ident()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """Borrow a read-only connection for a short read; it goes back to the pool after."""
        self._check_open()
        conn = self._borrow()
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._give_back(conn)

    def _give_back(self, conn: sqlite3.Connection) -> None:
        with self._pool_lock:
            if not self._closed:
                self._pool.put(conn)
                return
            # The database was closed while this reader was out: close it here, on the thread
            # that used it (closing it under another thread's query can crash sqlite3).
            self._all_readers.remove(conn)
        conn.close()

    def _borrow(self) -> sqlite3.Connection:
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            pass
        with self._pool_lock:
            if self._opened_readers < self._pool_size:
                self._opened_readers += 1
                conn = connect(self.path, read_only=True)
                self._all_readers.append(conn)
                return conn
        try:
            return self._pool.get(timeout=POOL_WAIT_SECONDS)
        except queue.Empty:
            raise ServiceUnavailable("The database is busy; try again") from None

    # --- lifecycle -------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseClosed()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close every connection. Idempotent; later calls raise :class:`DatabaseClosed`."""
        if self._closed:
            return
        self._closed = True
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._write_lock:
            self._writer.close()
        with self._pool_lock:
            # Only the idle readers; one still borrowed is closed when it comes back.
            while True:
                try:
                    conn = self._pool.get_nowait()
                except queue.Empty:
                    break
                self._all_readers.remove(conn)
                try:
                    conn.close()
                except sqlite3.Error:  # pragma: no cover - closing a broken connection
                    logger.exception("closing a reader of %s failed", self.path)


class Checkpointer:
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own connection and thread, shortly after
    writes (see the module docstring), so no request thread copies the WAL back or waits for
    a sync.

    PASSIVE never blocks the writer or readers: it copies what no reader still needs, and the
    writer starts the WAL over once everything was copied. Durability is SQLite's WAL with
    ``synchronous=NORMAL`` either way: a commit is safe from a crash of the process at once,
    and from a crash of the machine once a checkpoint has synced it (here within about
    :data:`CHECKPOINT_MAX_DELAY_SECONDS`; SQLite's default only every ~4 MiB of WAL).
    """

    def __init__(self, path: Path, *, quiet: float = CHECKPOINT_QUIET_SECONDS,
                 max_delay: float = CHECKPOINT_MAX_DELAY_SECONDS) -> None:
        self.path = path
        self.quiet = quiet
        self.max_delay = max_delay
        self.checkpoints = 0  # completed, for tests and curious operators
        self._changed = threading.Condition(threading.Lock())
        self._first_pending: float | None = None
        self._last_write = 0.0
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="actorvid-checkpoint",
                                        daemon=True)
        self._thread.start()

    def wrote(self) -> None:
        """A write transaction committed: checkpoint once writes pause (or in a second)."""
        now = time.monotonic()
        with self._changed:
            self._last_write = now
            if self._first_pending is None:
                self._first_pending = now
                self._changed.notify()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread (a checkpoint in progress finishes first); idempotent."""
        with self._changed:
            self._stopping = True
            self._changed.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _due(self) -> bool:
        """Wait (with the lock held) until a checkpoint is due; False when stopping."""
        while not self._stopping:
            if self._first_pending is None:
                self._changed.wait()
                continue
            due = min(self._last_write + self.quiet, self._first_pending + self.max_delay)
            left = due - time.monotonic()
            if left <= 0:
                self._first_pending = None
                return True
            self._changed.wait(left)
        return False

    def _run(self) -> None:
        conn = connect(self.path)
        try:
            while True:
                with self._changed:
                    if not self._due():
                        return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # e.g. the disk is full: the writer's bound holds
                    logger.warning("background checkpoint of %s failed: %s", self.path, exc)
        finally:
            conn.close()


def open_database(path: Path | str, *, read_pool_size: int = 8, migrate: bool = True) -> Database:
    """Open ``path`` (creating it), apply pending migrations and return the :class:`Database`."""
    path = Path(path)
    if str(path) != ":memory:" and path.parent and not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = Database(path, read_pool_size=read_pool_size)
    if migrate:
        try:
            apply_migrations(db)
        except BaseException:
            db.close()
            raise
    return db
