"""The server as a real process: SIGKILL mid-job, SIGTERM, restart; creates counted at the
provider (the fake Replicate, over real HTTP on loopback, driven by the real client)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from actorvid.store.db import Database
from tests.actors.fakes import scene_of
from tests.actors.helpers import job_row, make_job, scene_rows, wait_until
from tests.fakes.replicate import FakeReplicate

REPO = Path(__file__).resolve().parents[2]


class Server:
    def __init__(self, db_path: Path, fake: FakeReplicate, log: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.actors.run_system", str(db_path), fake.api_url,
             fake.token],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=self.log)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until READY or the process dies
        if line.strip() != b"READY":
            self.kill()
            pytest.fail(f"server did not start: {line!r}; see {log}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.log.close()

    def terminate(self, timeout: float) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("server did not stop on SIGTERM in time")
        self.log.close()
        return code


def creates_per_scene(fake: FakeReplicate) -> Counter[str]:
    return Counter(scene_of(p.tag) for p in fake.all_predictions())


@pytest.fixture
def fake(fake_replicate: FakeReplicate) -> FakeReplicate:
    """Predictions stay ``starting`` until :meth:`FakeReplicate.unstick`; polls every 10 ms
    from eight scenes stay under the fake's rate limit."""
    for _ in range(8):
        fake_replicate.next_outcome("stuck")
    fake_replicate.set_rate_limit("other", 60_000, 60_000)
    return fake_replicate


def test_sigkill_mid_job_then_sigterm_then_restart_never_creates_twice(
        db: Database, user_id: int, tmp_path: Path, fake: FakeReplicate) -> None:
    job_ids = [make_job(db, user_id, scenes=4) for _ in range(2)]
    log = tmp_path / "server.log"

    def stored() -> bool:
        return all(len(scene_rows(db, j)) == 4 and all(s.provider_id for s in scene_rows(db, j))
                   for j in job_ids)

    first = Server(db.path, fake, log)
    try:
        # Recovery at start picks the pending jobs up; no StartJob needed.
        wait_until(stored, timeout=15, message="every prediction id stored")
        assert fake.journal.in_flight()
    finally:
        first.kill()  # SIGKILL: no cleanup at all
    assert first.proc.returncode == -signal.SIGKILL
    assert sum(creates_per_scene(fake).values()) == 8

    second = Server(db.path, fake, log)
    # Resumed: polling the stored predictions (gets grow), nothing created.
    gets = len(fake.journal.requests("get"))
    wait_until(lambda: len(fake.journal.requests("get")) > gets + 8, timeout=10,
               message="resumed polling")
    assert second.terminate(timeout=60) == 0
    assert b"stopped (0 survivors)" in log.read_bytes()
    assert all(job_row(db, j).status == "video_processing" for j in job_ids)

    fake.unstick()
    third = Server(db.path, fake, log)
    try:
        wait_until(lambda: all(job_row(db, j).terminal for j in job_ids), timeout=60)
    finally:
        assert third.terminate(timeout=60) == 0
    assert [job_row(db, j).status for j in job_ids] == ["completed", "completed"]
    assert sum(creates_per_scene(fake).values()) == 8
    assert set(creates_per_scene(fake).values()) == {1}
