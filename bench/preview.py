"""Previews (issue 19): how long a preview takes next to the final local render of the same
storyboard, and whether a finish step is delayed by previews rendering at the same time.

Runs the app in this process (offline: local renderer and music), over HTTP on loopback:

1. A 7 × 8 s image-pairs job: the preview's render time (its row's created → ready) next to
   the final local render (approved → completed). Goal: the preview ≤ 1/5 of it. Both files
   are probed: their durations must agree within 50 ms.
2. A 2 × 8 s auto-approved job's finish step (stage ``stitching`` → completed, polled every
   50 ms) alone, then again while three 7 × 8 s dry-run draft previews render.

    .venv/bin/python bench/preview.py
    .venv/bin/python bench/preview.py --finish-rounds 2   # part 2 only, alone/busy in turn
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actorvid.config import load_settings  # noqa: E402
from actorvid.media.ffmpeg import FFmpeg  # noqa: E402
from actorvid.store import previews as preview_store  # noqa: E402
from tests.conftest import TEST_SCRYPT  # noqa: E402
from tests.jobs.conftest import FAST, Api, Server, download, start_server  # noqa: E402


def seconds_between(start: str, end: str) -> float:
    parse = datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))
            ).total_seconds()


def wait(predicate: Callable[[], Any], timeout: float = 1800.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark waited too long")
        time.sleep(interval)
    return value


def photos(api: Api, campaign_id: str, count: int, workdir: Path) -> list[str]:
    """Detailed 1280×720 photos (a test pattern, a different hue and grain each)."""
    ffmpeg, ids = FFmpeg.locate(), []
    for i in range(count):
        path = workdir / f"photo{i}.jpg"
        ffmpeg.run(["-f", "lavfi", "-i", f"testsrc2=s=1280x720,hue=h={i * 25},"
                    "noise=alls=20:allf=u", "-frames:v", "1", "-q:v", "3", "-y", str(path)])
        resp = api.post("/api/v3/assets", files={"file": (path.name, path.read_bytes(),
                                                          "image/jpeg")},
                        data={"campaignId": campaign_id, "type": "image"})
        ids.append(resp.json()["data"]["id"])
    return ids


def finish_seconds(api: Api, job_id: int) -> float:
    """From the moment the job is seen stitching to completed (polled every 50 ms)."""
    wait(lambda: api.job(job_id)["progress"]["stage"] in ("stitching", "completed"),
         interval=0.05)
    started = time.monotonic()
    wait(lambda: api.job(job_id)["status"] == "completed", interval=0.05)
    return time.monotonic() - started


def main() -> int:
    rounds = int(sys.argv[2]) if sys.argv[1:2] == ["--finish-rounds"] else 0
    with tempfile.TemporaryDirectory(prefix="actorvid-bench-preview-") as folder:
        work = Path(folder)
        settings = load_settings({"ACTORVID_DB": str(work / "bench.db"),
                                  "ACTORVID_DATA_DIR": str(work), "ACTORVID_PROVIDER": "local",
                                  "ACTORVID_SCRYPT_PARAMS": TEST_SCRYPT}, dotenv=None)
        for server in start_server(settings, FAST):
            if rounds:
                finish_rounds(server, work, rounds)
            else:
                run(server, work)
    return 0


def run(server: Server, work: Path) -> None:
    api = server.api
    campaign = api.campaign()
    ids = photos(api, campaign["id"], 14, work)

    load_before = os.getloadavg()[0]
    job_id = api.pairs_job(campaign["id"], numPairs=7, clipDuration=8,
                           autoApprove=False)
    api.wait_status(job_id, "storyboard_ready", timeout=600)
    wait(lambda: api.job(job_id)["preview"]["status"] == "ready")
    with server.ctx.db.read() as conn:
        row = preview_store.job_preview(conn, job_id)
    assert row is not None
    preview_time = seconds_between(row.created_at, row.updated_at)
    preview = download(api, f"/api/v3/videos/{job_id}/preview", work / "preview.mp4")
    api.post(f"/api/v3/jobs/{job_id}/approve")
    job = api.wait_status(job_id, "completed", timeout=1800)
    final_time = seconds_between(job["approvedAt"], job["completedAt"])
    final = download(api, job["videoUrl"], work / "final.mp4")
    load_after = os.getloadavg()[0]
    ffmpeg = FFmpeg.locate()
    lengths = (ffmpeg.probe(preview).duration or 0, ffmpeg.probe(final).duration or 0)

    alone = api.pairs_job(campaign["id"], numPairs=2, clipDuration=8, preview=False)
    finish_alone = finish_seconds(api, alone)
    busy = api.pairs_job(campaign["id"], numPairs=2, clipDuration=8, preview=False)
    drafts = [api.post("/api/v3/jobs/dry-run", json={
        "numPairs": 7, "clipDuration": 8, "preview": True,
        "assetIds": ids[n:] + ids[:n]}).json()["data"]["preview"]["id"]
        for n in range(3)]
    finish_busy = finish_seconds(api, busy)
    rendering = sum(api.get(f"/api/v3/previews/{d}").json()["data"]["status"]
                    == "rendering" for d in drafts)

    print("| measure | value |")
    print("|---|---:|")
    print(f"| preview of 7 × 8 s (360p, 15 fps shots) | {preview_time:.1f} s |")
    print(f"| final local render of the same storyboard (720p) | {final_time:.1f} s |")
    print(f"| preview / final | {preview_time / final_time:.2f} (goal ≤ 0.20) |")
    print(f"| preview / final duration | {lengths[0]:.3f} s / {lengths[1]:.3f} s |")
    print(f"| load average (1 min) before the preview / after the final | "
          f"{load_before:.1f} / {load_after:.1f} |")
    print(f"| finish step of 2 × 8 s, alone | {finish_alone:.2f} s |")
    print(f"| same, 3 draft previews rendering ({rendering} still at its end) | "
          f"{finish_busy:.2f} s |")


def finish_rounds(server: Server, work: Path, rounds: int) -> None:
    """The finish step alone and beside three draft previews, in turn, ``rounds`` times (the
    drafts of a round are done before the next round starts)."""
    api = server.api
    campaign = api.campaign()
    ids = photos(api, campaign["id"], 14, work)
    print("| round | finish alone (s) | finish beside 3 previews (s) |")
    print("|---:|---:|---:|")
    for number in range(1, rounds + 1):
        alone = finish_seconds(api, api.pairs_job(campaign["id"], numPairs=2, clipDuration=8,
                                                  preview=False))
        busy_job = api.pairs_job(campaign["id"], numPairs=2, clipDuration=8, preview=False)
        drafts = [api.post("/api/v3/jobs/dry-run", json={
            "numPairs": 7, "clipDuration": 8, "preview": True,
            "assetIds": ids[n:] + ids[:n]}).json()["data"]["preview"]["id"] for n in range(3)]
        busy = finish_seconds(api, busy_job)
        wait(lambda: all(api.get(f"/api/v3/previews/{d}").json()["data"]["status"] != "rendering"
                         for d in drafts), interval=1.0)  # noqa: B023 (waited for here)
        print(f"| {number} | {alone:.2f} | {busy:.2f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
