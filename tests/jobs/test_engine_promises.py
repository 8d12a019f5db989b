"""The engine's promises against real server processes: every job survives every restart and
pays once, and one process owns its database file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from tests.conftest import wait_until
from tests.fakes.replicate import FakeReplicate
from tests.jobs.conftest import download, png, probe
from tests.processes import WAITRESS_SERVE, query, running_server, server_env


def creates_per_scene(db_path: Path, job_id: int) -> dict[str, int]:
    """How many local predictions each of the job's scenes created (its tag carries the id)."""
    rows = query(db_path, "SELECT tag FROM local_predictions WHERE tag LIKE ?", f"job{job_id}/%")
    counts: dict[str, int] = {}
    for (tag,) in rows:
        scene = tag.split("/")[1]
        counts[scene] = counts.get(scene, 0) + 1
    return counts


# Real processes rendering real clips: generous, on a 2-core machine running other suites.
pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_offline_jobs_survive_a_stop_mid_render_and_render_each_clip_once(
        tmp_path: Path, stop: signal.Signals) -> None:
    db_path = tmp_path / "offline.db"
    env = server_env(tmp_path, db_path, ACTORVID_PROVIDER="local")
    with running_server(tmp_path, env) as first:
        api = first.api()
        campaign = api.campaign()
        api.images(campaign["id"], 4)
        job_ids = [api.pairs_job(campaign["id"], numPairs=2, clipDuration=4)
                   for _ in range(3)]

        def rendering() -> bool:
            rows = query(db_path, "SELECT count(*) FROM sub_jobs WHERE provider_id IS NOT NULL "
                                  "AND status = 'processing'")
            return rows[0][0] >= 2

        wait_until(rendering, timeout=90, interval=0.05, message="scenes rendering")
        first.proc.send_signal(stop)
        first.proc.wait(timeout=60)
        assert first.proc.returncode in (0, -signal.SIGKILL)
    unfinished = query(db_path, "SELECT count(*) FROM jobs WHERE status != 'completed'")[0][0]
    assert unfinished > 0, "the stop came too late to test anything"
    with running_server(tmp_path, env, keep_key_from=first) as second:
        api = second.api()
        for job_id in job_ids:
            job = api.wait_status(job_id, "completed", timeout=240)
            assert job["clipCount"] == 2 and job["partial"] is False
            counts = creates_per_scene(db_path, job_id)
            assert len(counts) == 2 and set(counts.values()) == {1}, counts
        assert second.terminate() == 0


def test_kill_during_the_soundtrack_chain_pays_each_segment_once(
        tmp_path: Path, fake_replicate: FakeReplicate) -> None:
    for model in ("google/veo-3.1", "minimax/hailuo-02"):
        fake_replicate.set_timing(model, queue=5, run=20)
    fake_replicate.set_timing("meta/musicgen", queue=10, run=300)  # ~3 s a segment
    db_path = tmp_path / "music.db"
    env = server_env(tmp_path, db_path, REPLICATE_API_KEY=fake_replicate.token,
                     ACTORVID_REPLICATE_BASE_URL=fake_replicate.api_url)
    with running_server(tmp_path, env) as first:
        api = first.api()
        campaign = api.campaign()
        api.images(campaign["id"], 6)
        job_id = api.pairs_job(campaign["id"], numPairs=3, clipDuration=4, generateAudio=True)

        def second_segment_running() -> bool:
            rows = query(db_path, "SELECT scene_number, status, provider_id FROM sub_jobs "
                                  "WHERE job_id = ? AND kind = 'music'", job_id)
            state = {n: (status, pid) for n, status, pid in rows}
            return state.get(1, ("",))[0] == "completed" and bool(state.get(2, ("", None))[1])

        wait_until(second_segment_running, timeout=120, interval=0.05,
                   message="segment 2 of the chain in flight")
        first.kill()
    with running_server(tmp_path, env, keep_key_from=first) as second:
        api = second.api()
        job = api.wait_status(job_id, "completed", timeout=180)
        assert job["audio"]["status"] == "completed", job["audio"]
        music = [p for p in fake_replicate.all_predictions() if p.model == "meta/musicgen"]
        scenes = [p.tag.split("/")[1] for p in music]
        assert len(music) == 3 and len(set(scenes)) == 3  # each segment created exactly once
        final = download(api, job["videoUrl"], tmp_path / "scored.mp4")
        info = probe(final)
        assert info.audio_codec == "aac" and abs(info.duration - 12.0) < 0.1


def test_a_cancel_is_not_stuck_behind_a_429_storm(remote, fake_replicate: FakeReplicate) -> None:
    fake_replicate.set_timing("google/veo-3.1", queue=10, run=100_000)  # never finishes
    # Two creates go through; every later one is refused with Retry-After: 30.
    fake_replicate.set_rate_limit("create", per_minute=2, burst=2)
    api = remote.api
    campaign = api.campaign()
    api.images(campaign["id"], 8)
    job_id = api.pairs_job(campaign["id"], numPairs=4, clipDuration=4)
    wait_until(lambda: fake_replicate.journal.creates == 2
               and fake_replicate.journal.create_requests >= 3, timeout=60,
               message="two predictions made, the rest throttled")
    live = {p.id for p in fake_replicate.all_predictions()}
    resp = api.post(f"/api/v3/jobs/{job_id}/cancel")
    assert resp.status_code == 200, resp.text

    def cancelled_everywhere() -> bool:
        cancels = {r["path"].split("/")[-2] for r in fake_replicate.journal.requests("cancel")}
        return cancels >= live and api.job(job_id)["status"] == "cancelled"

    wait_until(cancelled_everywhere, timeout=1.0, interval=0.02,
               message="every live prediction cancelled and the job cancelled within 1 s")


def test_a_second_process_on_the_same_file_exits_and_touches_nothing(tmp_path: Path) -> None:
    db_path = tmp_path / "owned.db"
    env = server_env(tmp_path, db_path, ACTORVID_PROVIDER="local")
    with running_server(tmp_path, env) as first:
        api = first.api()
        campaign = api.campaign()
        api.images(campaign["id"], 2)
        job_id = api.pairs_job(campaign["id"], numPairs=1, clipDuration=4)
        # An upload in flight: its body arrives in two halves, the second held back.
        release = threading.Event()
        body = png("blue", "640x480")

        def chunks():
            head = (b"--b\r\nContent-Disposition: form-data; name=\"campaignId\"\r\n\r\n"
                    + campaign["id"].encode() + b"\r\n"
                    b"--b\r\nContent-Disposition: form-data; name=\"file\"; "
                    b"filename=\"late.png\"\r\nContent-Type: image/png\r\n\r\n")
            yield head + body[:1000]
            release.wait(60)
            yield body[1000:] + b"\r\n--b--\r\n"

        answer: dict[str, requests.Response] = {}
        uploader = threading.Thread(target=lambda: answer.update(up=requests.post(
            api.url + "/api/v3/assets", data=chunks(),
            headers={**api.user.headers, "Content-Type": "multipart/form-data; boundary=b"},
            timeout=60)))
        uploader.start()
        commands = (
            [sys.executable, "-m", "actorvid", "serve", "--port", "0"],
            [sys.executable, *WAITRESS_SERVE],
            [sys.executable, "-m", "actorvid", "migrate"],
        )
        for command in commands:
            second = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True,
                                    text=True, timeout=60)
            assert second.returncode != 0, second.stderr
            said = [line for line in second.stderr.splitlines() if line.strip()]
            assert len(said) == 1, said
            assert str(db_path.name) in said[0] and f"process {first.proc.pid}" in said[0]
        # Adding rows beside a running server stays possible.
        made = subprocess.run([sys.executable, "-m", "actorvid", "users", "create",
                               "--username", "ana", "--email", "ana@example.com",
                               "--password", "a-long-password"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        release.set()
        uploader.join(60)
        assert answer["up"].status_code == 201, answer["up"].text
        job = api.wait_status(job_id, "completed", timeout=120)
        assert job["clipCount"] == 1
        assert first.terminate() == 0


def test_a_lost_prediction_is_made_again_once_then_fails_with_a_sentence(
        tmp_path: Path) -> None:
    db_path = tmp_path / "lost.db"
    env = server_env(tmp_path, db_path, ACTORVID_PROVIDER="local")
    with running_server(tmp_path, env) as server:
        api = server.api()
        campaign = api.campaign()
        api.images(campaign["id"], 2)
        # A long clip, so its prediction is still there to lose.
        job_id = api.pairs_job(campaign["id"], numPairs=1, clipDuration=8, resolution="1080p")

        def lose_it() -> bool:
            rows = query(db_path, "SELECT provider_id FROM sub_jobs WHERE job_id = ? AND "
                                  "provider_id IS NOT NULL AND status = 'processing'", job_id)
            if not rows:
                return False
            # What a provider that forgot the prediction looks like: it is simply gone.
            import sqlite3
            conn = sqlite3.connect(db_path, timeout=30)
            try:
                with conn:
                    conn.execute("DELETE FROM local_predictions WHERE id = ?", (rows[0][0],))
            finally:
                conn.close()
            return True

        wait_until(lose_it, timeout=60, interval=0.02, message="a prediction to lose")
        wait_until(lambda: query(db_path, "SELECT recreated_from FROM sub_jobs WHERE job_id = ?",
                                 job_id)[0][0] is not None, timeout=60,
                   message="the scene to make it again")
        wait_until(lose_it, timeout=60, interval=0.02, message="the new prediction to lose")
        job = api.wait_status(job_id, "failed", timeout=60)
        assert "lost this scene's work twice" in job["error"]
        assert "Unknown local prediction" not in job["error"]


def test_the_owner_removes_what_a_killed_process_left(tmp_path: Path) -> None:
    from actorvid import tempspace
    from actorvid.app import create_context
    from actorvid.config import load_settings
    from actorvid.store import blobs
    from actorvid.store.db import open_database

    db_path = tmp_path / "left.db"
    db = open_database(db_path)
    orphan = blobs.write_blob(db, [b"a whole clip nobody came to reference"])
    db.close()
    dead_root = Path(tempfile_root()) / f"{tempspace.ROOT_PREFIX}deadbeef"
    dead_root.mkdir()
    (dead_root / tempspace.OWNER_FILE).write_text("999999\n")
    (dead_root / "stitch").mkdir()
    live_root = tempspace.process_root()
    settings = load_settings({"ACTORVID_DB": str(db_path), "ACTORVID_DATA_DIR": str(tmp_path),
                              "ACTORVID_PROVIDER": "local"}, dotenv=None)
    ctx = create_context(settings, bootstrap=False)
    try:
        with ctx.db.read() as conn:
            assert conn.execute("SELECT count(*) FROM blobs WHERE id = ?",
                                (orphan.id,)).fetchone()[0] == 0
        assert not dead_root.exists() and live_root.exists()
        assert os.stat(live_root).st_mode & 0o777 == 0o700
    finally:
        ctx.close()


def tempfile_root() -> str:
    import tempfile

    return tempfile.gettempdir()
