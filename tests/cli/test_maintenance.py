"""``actorvid backup`` and ``actorvid check`` against the database of a running server."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from actorvid.api.context import AppContext
from actorvid.app import build_app
from tests.conftest import LiveServer, make_user, serve_in_thread
from tests.fakes.media import make_image


def actorvid(ctx: AppContext, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ACTORVID_DB": str(ctx.settings.db_path),
           "ACTORVID_DATA_DIR": str(ctx.settings.data_dir)}
    return subprocess.run([sys.executable, "-m", "actorvid", *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=ctx.settings.data_dir)


@pytest.fixture
def serving(live_ctx: AppContext, tmp_path: Path) -> Iterator[tuple[LiveServer, dict]]:
    """A running server with an uploaded photo (a referenced blob) and a client."""
    user = make_user(live_ctx, "ops")
    for live in serve_in_thread(build_app(live_ctx)):
        photo = make_image(tmp_path / "photo.png", width=64, height=48)
        with photo.open("rb") as handle:
            asset = requests.post(live.url + "/api/v3/assets", headers=user.headers,
                                  files={"file": ("photo.png", handle)}, timeout=60)
        assert asset.status_code == 201, asset.text
        assert requests.post(live.url + "/api/v3/clients", json={"name": "Acme"},
                             headers=user.headers, timeout=30).status_code == 201
        yield live, asset.json()["data"]


def test_backup_while_serving_makes_a_checked_copy(serving, live_ctx, tmp_path) -> None:
    live, asset = serving
    dest = tmp_path / "copies" / "backup.db"
    dest.parent.mkdir()
    done = actorvid(live_ctx, "backup", str(dest))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("integrity ok)")
    assert oct(dest.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["backup.db"]  # one whole file
    copy = sqlite3.connect(dest)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT name FROM clients").fetchall() == [("Acme",)]
        assert copy.execute("SELECT count(*) FROM assets WHERE id = ?",
                            (asset["id"],)).fetchone()[0] == 1
    finally:
        copy.close()
    # The server went on serving meanwhile.
    assert requests.get(live.url + "/health", timeout=30).status_code == 200
    again = actorvid(live_ctx, "backup", str(dest))
    assert again.returncode == 1
    assert again.stderr.strip() == f"backup failed: {dest} exists; choose a new file name"


def test_backup_of_a_missing_database_fails_clearly(live_ctx, tmp_path) -> None:
    env_ctx = live_ctx.settings.with_overrides(db_path=tmp_path / "nope.db")
    proc = subprocess.run([sys.executable, "-m", "actorvid", "backup", str(tmp_path / "b.db")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "ACTORVID_DB": str(env_ctx.db_path)})
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"backup failed: {env_ctx.db_path}: no such database file"
    assert not (tmp_path / "nope.db").exists() and not (tmp_path / "b.db").exists()


def test_check_reports_orphan_blobs_and_stuck_jobs(serving, live_ctx) -> None:
    healthy = actorvid(live_ctx, "check")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "integrity: ok" in healthy.stdout
    assert healthy.stdout.strip().endswith("no problems found")

    # What a crash or a bug leaves behind: a blob no row names, and a working job whose
    # actor is gone (inserted behind the running server's back, so no actor picks it up).
    long_ago = "2020-01-01T00:00:00.000Z"
    with live_ctx.db.write() as conn:
        conn.execute("INSERT INTO blobs (id, size, chunk_size, complete, created_at) "
                     "VALUES ('orphan-1', 1234, 65536, 1, ?)", (long_ago,))
        user_id = conn.execute("SELECT id FROM users").fetchone()[0]
        job_id = conn.execute(
            "INSERT INTO jobs (user_id, type, status, stage, created_at, updated_at) "
            "VALUES (?, 'image_pairs', 'video_processing', 'rendering', ?, ?)",
            (user_id, long_ago, long_ago)).lastrowid
        conn.execute(  # waiting for a person is not stuck
            "INSERT INTO jobs (user_id, type, status, stage, created_at, updated_at) "
            "VALUES (?, 'image_pairs', 'storyboard_ready', 'awaiting_approval', ?, ?)",
            (user_id, long_ago, long_ago))
    found = actorvid(live_ctx, "check", "--stale-minutes", "30")
    assert found.returncode == 1, found.stdout + found.stderr
    lines = found.stdout.splitlines()
    assert "orphan blobs (no row references them, older than 30 min): 1, 1234 bytes" in lines
    assert "  blob orphan-1 (1234 bytes)" in lines
    assert "stuck jobs (working, unchanged for 30 min): 1" in lines
    assert (f"  job {job_id}: video_processing/rendering, last change {long_ago}") in lines
    assert lines[-1] == "2 problem(s) found"
