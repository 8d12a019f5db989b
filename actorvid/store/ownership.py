"""One process owns a database file: an exclusive OS lock next to it, and start-up cleanup.

Two actor systems over one file would each resume the other's jobs and pay for every prediction
twice, and one's start-up cleanup would delete the other's half-written uploads. So a process that
serves a file (``actorvid serve``, ``waitress-serve --call actorvid.app:create_app``, the demo,
``import-legacy``, ``migrate``) first takes an exclusive ``flock`` on ``<file>.lock``. The kernel
releases it when the process dies, ``kill -9`` included, so there is never a stale lock to clear by
hand; the PID written into the file is only there to name the holder in the refusal.

Commands that only add rows (``users create``, ``keys create``) do not take the lock: SQLite's
own locking makes them safe beside a running server.

Within one process the lock is shared (counted), so an app built twice over one file, as tests
and ``create_app`` may do, does not lock itself out.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from actorvid.errors import ActorvidError

logger = logging.getLogger(__name__)


class DatabaseInUse(ActorvidError):
    """Another process holds the database file's lock."""

    status = 409
    code = "database_in_use"

    def __init__(self, path: Path, pid: int | None) -> None:
        holder = f"process {pid}" if pid else "another process"
        super().__init__(f"{path} is in use by {holder}; stop it first "
                         "(one actorvid process owns a database file)")
        self.path = path
        self.pid = pid


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


@dataclass
class _Held:
    fd: int
    count: int


_held: dict[str, _Held] = {}
_held_lock = threading.Lock()


class OwnerLock:
    """A held ownership of one database file; :meth:`release` once (idempotent)."""

    def __init__(self, key: str, path: Path) -> None:
        self._key = key
        self.path = path
        self._released = False

    def release(self) -> None:
        with _held_lock:
            if self._released:
                return
            self._released = True
            held = _held.get(self._key)
            if held is None:
                return
            held.count -= 1
            if held.count == 0:
                del _held[self._key]
                # Closing the descriptor drops the flock; the file stays (harmless, reused).
                os.close(held.fd)

    def __enter__(self) -> OwnerLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(db_path: Path | str) -> OwnerLock:
    """Own ``db_path`` or raise :class:`DatabaseInUse` naming the holder. Changes nothing else."""
    path = Path(db_path)
    key = str(path.resolve())
    with _held_lock:
        held = _held.get(key)
        if held is not None:
            held.count += 1
            return OwnerLock(key, path)
        lock_file = lock_path(path.resolve())
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            pid = _read_pid(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                raise DatabaseInUse(path, pid) from None
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held[key] = _Held(fd, 1)
    logger.debug("owner lock on %s taken by pid %d", path, os.getpid())
    return OwnerLock(key, path)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
