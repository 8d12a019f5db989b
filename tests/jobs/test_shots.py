"""Clips are normalised into shots as they arrive; a crash before a shot is stored loses nothing.

The server runs an ffmpeg wrapper that holds every normalising run (recognised by its work
directory) at a gate, so the process can be killed exactly between "clip stored" and "shot
stored"; the next start normalises those clips again and finishes the job.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

from actorvid.media import inspect
from actorvid.media.ffmpeg import FFmpeg
from tests.conftest import wait_until
from tests.jobs.conftest import download
from tests.processes import query, running_server, server_env

GATED_FFMPEG = """#!{python}
import os, subprocess, sys, time
gate, seen = {gate!r}, {seen!r}
parent = os.getppid()
if any("-shot" in arg for arg in sys.argv[1:]) and os.path.exists(gate):
    open(seen, "a").close()
    while os.path.exists(gate):
        if os.getppid() != parent:  # the server died: this run is nobody's
            sys.exit(1)
        time.sleep(0.05)
sys.exit(subprocess.call([{real!r}, *sys.argv[1:]]))
"""


def gated_ffmpeg(tmp_path: Path) -> tuple[Path, Path, Path]:
    gate, seen, script = tmp_path / "gate", tmp_path / "seen", tmp_path / "ffmpeg"
    script.write_text(GATED_FFMPEG.format(python=sys.executable, gate=str(gate),
                                          seen=str(seen), real=FFmpeg.locate().binary))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    gate.touch()
    return script, gate, seen


def clip_rows(db_path: Path, job_id: int) -> list[tuple[str, str | None, str | None]]:
    return query(db_path, "SELECT status, clip_blob_id, shot_blob_id FROM sub_jobs "
                          "WHERE job_id = ? AND kind = 'clip'", job_id)


def test_a_restart_between_clip_stored_and_shot_stored_still_finishes(tmp_path,
                                                                      fake_replicate):
    fake_replicate.set_timing("google/veo-3.1", queue=10, run=40)
    script, gate, seen = gated_ffmpeg(tmp_path)
    db_path = tmp_path / "shots.db"
    env = server_env(tmp_path, db_path, REPLICATE_API_KEY=fake_replicate.token,
                     ACTORVID_REPLICATE_BASE_URL=fake_replicate.api_url,
                     ACTORVID_FFMPEG=str(script))
    with running_server(tmp_path, env) as first:
        api = first.api()
        campaign = api.campaign()
        api.images(campaign["id"], 4)
        job_id = api.pairs_job(campaign["id"], numPairs=2, clipDuration=4)
        # Every clip stored, none normalised (held at the gate), the finish waiting for them.
        wait_until(lambda: seen.exists() and query(
            db_path, "SELECT stage FROM jobs WHERE id = ?", job_id) == [("stitching",)],
                   timeout=120, message="the clips stored and their shots held")
        rows = clip_rows(db_path, job_id)
        assert len(rows) == 2
        assert all(status == "completed" and clip and shot is None
                   for status, clip, shot in rows), rows
        first.kill()
    gate.unlink()
    with running_server(tmp_path, env, keep_key_from=first) as second:
        api = second.api()
        job = api.wait_status(job_id, "completed", timeout=180)
        rows = clip_rows(db_path, job_id)
        assert all(shot for _, _, shot in rows), rows  # normalised again after the restart
        video = download(api, job["videoUrl"], tmp_path / "final.mp4")
        assert inspect.problems(FFmpeg.locate(), video, soundtrack=False) == []
        assert abs(job["duration"] - 8.0) <= 1 / 30
