"""One media limit: never more ffmpeg children than ACTORVID_MEDIA_WORKERS, whatever the mix."""

from __future__ import annotations

import stat
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from actorvid.config import Settings
from actorvid.media.ffmpeg import FFmpeg
from tests.jobs.conftest import FAST, png, start_server

# An ffmpeg that counts: every run takes a flock-ed counter up, runs the real binary, takes it
# down, and keeps the highest value seen.
COUNTING_FFMPEG = """#!{python}
import fcntl, os, subprocess, sys
state = {state!r}
def bump(step):
    with open(state, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        now, peak = (int(x) for x in (f.read().split() or ["0", "0"]))
        now += step
        f.seek(0)
        f.truncate()
        f.write(f"{{now}} {{max(peak, now)}}")
bump(1)
try:
    code = subprocess.call([{real!r}, *sys.argv[1:]])
finally:
    bump(-1)
sys.exit(code)
"""


@pytest.fixture
def counting_ffmpeg(tmp_path: Path) -> tuple[Path, Path]:
    state = tmp_path / "ffmpeg-count"
    script = tmp_path / "ffmpeg"
    script.write_text(COUNTING_FFMPEG.format(python=sys.executable, state=str(state),
                                             real=FFmpeg.locate().binary))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, state


@pytest.mark.timeout(300)
def test_ffmpeg_children_never_exceed_the_limit_under_a_mixed_load(
        settings: Settings, counting_ffmpeg: tuple[Path, Path]) -> None:
    script, state = counting_ffmpeg
    limited = replace(settings, ffmpeg=str(script), media_workers=2)
    servers = start_server(limited, FAST)
    server = next(servers)
    try:
        api = server.api
        campaign = api.campaign()
        api.images(campaign["id"], 4)
        jobs = [api.post("/api/v3/jobs/from-image-pairs", json={
            "campaignId": campaign["id"], "numPairs": 2, "clipDuration": 4,
            "autoApprove": True, "generateAudio": True}).json()["data"]["jobId"]
            for _ in range(2)]
        # Uploads (probe + thumbnail) while clips render, music is made and videos stitch.
        errors: list[str] = []

        def upload(i: int) -> None:
            for n in range(3):
                try:
                    resp = api.post("/api/v3/assets", files={
                        "file": (f"u{i}{n}.png", png("gray", "640x360"), "image/png")},
                        data={"campaignId": campaign["id"], "type": "image"})
                except requests.RequestException as exc:  # a thread's error is not the test's
                    errors.append(repr(exc))
                    continue
                if resp.status_code != 201:
                    errors.append(resp.text)

        uploaders = [threading.Thread(target=upload, args=(i,)) for i in range(4)]
        for thread in uploaders:
            thread.start()
        for thread in uploaders:
            thread.join(120)
        for job_id in jobs:
            assert api.wait_status(job_id, "completed", timeout=240)["audio"]["status"] \
                == "completed"
        assert not errors, errors
        now, peak = (int(x) for x in state.read_text().split())
        assert now == 0
        assert 1 <= peak <= 2, f"{peak} ffmpeg processes ran at once"
    finally:
        servers.close()
