"""The database and its companions are private to the service's user (issue 14)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from actorvid.store.db import open_database


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_wal_and_shm_are_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which leaves new files world-readable
    try:
        db = open_database(tmp_path / "data" / "actorvid.db")
    finally:
        os.umask(old)
    try:
        with db.write() as conn:
            conn.execute("CREATE TABLE t (x)")
        with db.read() as conn:
            conn.execute("SELECT count(*) FROM t").fetchone()
        files = [tmp_path / "data" / f"actorvid.db{suffix}" for suffix in ("", "-wal", "-shm")]
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert _mode(tmp_path / "data") == 0o700
    finally:
        db.close()


def test_an_existing_world_readable_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "actorvid.db"
    open_database(path).close()
    for suffix in ("", "-wal", "-shm"):
        companion = Path(f"{path}{suffix}")
        if not companion.exists():
            companion.touch()
        os.chmod(companion, 0o644)
    open_database(path).close()
    assert _mode(path) == 0o600
    for suffix in ("-wal", "-shm"):
        companion = Path(f"{path}{suffix}")
        assert not companion.exists() or _mode(companion) == 0o600
