"""Previews (issue 19): a free local animatic of every storyboard, over real HTTP.

One offline job covers the edit-during-render cancel, staleness, the draft from a dry-run (with
a title card, crossfades and the PREVIEW mark) and the route's 404/409 sentences; one job on
the fake Replicate covers the 7-scene preview (its length against the final video's, its
photo order, and no prediction made for it).
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from actorvid.config import Settings
from actorvid.media.ffmpeg import FFmpeg
from tests.conftest import wait_until
from tests.jobs.conftest import COLORS, Api, download, probe

# Solid test photos, as ffmpeg's colour names render them (RGB).
RGB = {"red": (255, 0, 0), "green": (0, 128, 0), "blue": (0, 0, 255), "orange": (255, 165, 0),
       "purple": (128, 0, 128), "yellow": (255, 255, 0), "cyan": (0, 255, 255),
       "magenta": (255, 0, 255), "white": (255, 255, 255), "gray": (128, 128, 128),
       "brown": (165, 42, 42), "pink": (255, 192, 203), "navy": (0, 0, 128),
       "olive": (128, 128, 0)}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The production default: every job awaiting approval gets a preview (the rest of the
    suite turns previews off to save CPU)."""
    return replace(settings, previews=True)


def mean_color(video: Path, at: float) -> tuple[int, int, int]:
    """The mean RGB of the centre of the frame at ``at`` seconds."""
    proc = subprocess.run(
        [FFmpeg.locate().binary, "-hide_banner", "-loglevel", "error", "-ss", f"{at:.3f}",
         "-i", str(video), "-frames:v", "1", "-vf", "crop=iw/2:ih/2,scale=1:1:flags=area",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True,
        timeout=60)
    r, g, b = proc.stdout[:3]
    return r, g, b


def luma_spread(video: Path, at: float, corner: str) -> int:
    """Brightest minus darkest luma in a corner (``"bottom-right"``: where the PREVIEW mark
    is drawn, or ``"top-left"``) of the frame at ``at`` seconds: near 0 over a solid photo,
    large over text."""
    x, y = ("iw*3/4", "ih*7/8") if corner == "bottom-right" else ("0", "0")
    proc = subprocess.run(
        [FFmpeg.locate().binary, "-hide_banner", "-loglevel", "error", "-ss", f"{at:.3f}",
         "-i", str(video), "-frames:v", "1", "-vf", f"crop=iw/4:ih/8:{x}:{y}",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True,
        timeout=60)
    return max(proc.stdout) - min(proc.stdout)


def nearest(rgb: tuple[int, int, int], names: list[str]) -> str:
    return min(names, key=lambda n: sum((a - b) ** 2 for a, b in zip(RGB[n], rgb, strict=True)))


def scene_colors(video: Path, scenes: list[dict[str, Any]], names: list[str]) -> list[str]:
    """The photo colour seen a second into each scene (the push-in on its first photo)."""
    seen, start = [], 0.0
    for scene in scenes:
        seen.append(nearest(mean_color(video, start + 1.0), names))
        start += float(scene["duration"])
    return seen


def upload(api: Api, count: int) -> tuple[str, dict[str, str]]:
    """A campaign with ``count`` solid photos; returns its id and asset id → colour."""
    campaign = api.campaign()
    colors = {}
    for i in range(count):
        asset = api.upload_image(campaign["id"], COLORS[i], f"room{i}")
        colors[asset["id"]] = COLORS[i]
    return campaign["id"], colors


def preview_of(api: Api, job_id: int) -> dict[str, Any]:
    return api.job(job_id)["preview"]


def test_seven_scene_preview_on_the_fake_replicate(remote, fake_replicate, tmp_path):
    api = remote.api
    campaign_id, colors = upload(api, 14)
    job_id = api.pairs_job(campaign_id, numPairs=7, clipDuration=4, autoApprove=False)
    job = api.wait_status(job_id, "storyboard_ready", timeout=120)
    wait_until(lambda: preview_of(api, job_id)["status"] == "ready", timeout=240,
               interval=0.2, message="the preview")
    job = api.job(job_id)
    scenes = job["storyboard"]["scenes"]
    assert job["preview"]["url"] == f"/api/v3/videos/{job_id}/preview"
    preview = download(api, job["preview"]["url"], tmp_path / "preview.mp4")
    info = probe(preview)
    assert (info.width, info.height) == (640, 360) and info.audio_codec == "aac"
    names = sorted(set(colors.values()))
    assert scene_colors(preview, scenes, names) == [colors[s["firstAssetId"]] for s in scenes]
    assert fake_replicate.journal.requests("create") == []  # the preview cost nothing

    assert api.post(f"/api/v3/jobs/{job_id}/approve").status_code == 200
    job = api.wait_status(job_id, "completed", timeout=300)
    final = download(api, job["videoUrl"], tmp_path / "final.mp4")
    assert abs(probe(final).duration - info.duration) <= 0.05
    # Removed once the job completed (no keepPreview), and the route says so.
    wait_until(lambda: preview_of(api, job_id)["status"] == "none", timeout=30)
    gone = api.get(f"/api/v3/videos/{job_id}/preview")
    assert gone.status_code == 404
    assert "removed when the job completed" in gone.json()["error"]


def test_an_edit_cancels_the_render_and_the_next_preview_shows_it(offline, tmp_path):
    api = offline.api
    campaign_id, colors = upload(api, 5)
    ids = list(colors)
    slots = offline.ctx.services["media_slots"]
    # Every ffmpeg slot taken by "paid work": the preview starts but cannot get on.
    for _ in range(slots.limit):
        assert slots.acquire(timeout=30)
    held = slots.limit
    try:
        job_id = api.pairs_job(campaign_id, numPairs=2, clipDuration=4, autoApprove=False)
        api.wait_status(job_id, "storyboard_ready", timeout=120)
        wait_until(lambda: preview_of(api, job_id)["status"] == "rendering", timeout=60)
        first = preview_of(api, job_id)
        busy = api.get(f"/api/v3/videos/{job_id}/preview")
        assert busy.status_code == 409 and "still rendering" in busy.json()["error"]
        scene = api.job(job_id)["storyboard"]["scenes"][0]
        spare = next(i for i in ids if i not in (scene["firstAssetId"], scene["lastAssetId"]))
        edit = api.call("PUT", f"/api/v3/jobs/{job_id}/scenes/{scene['id']}",
                        json={"firstAssetId": spare})
        assert edit.status_code == 200, edit.text
        # Stale at once: never a url, never the old version called current.
        now = preview_of(api, job_id)
        assert now["url"] is None and now["status"] in ("stale", "rendering")
        wait_until(lambda: preview_of(api, job_id)["renderedFor"] != first["renderedFor"],
                   timeout=60, message="a render of the edited storyboard")
        while held:
            slots.release()
            held -= 1
        seen: list[dict[str, Any]] = []

        def ready() -> bool:
            seen.append(preview_of(api, job_id))
            return seen[-1]["status"] == "ready"

        wait_until(ready, timeout=180, interval=0.2, message="the edited preview")
    finally:
        while held:
            slots.release()
            held -= 1
    assert all(v["renderedFor"] != first["renderedFor"] for v in seen)  # old one never shown
    job = api.job(job_id)
    assert job["preview"]["renderedFor"] == seen[-1]["renderedFor"]
    video = download(api, job["preview"]["url"], tmp_path / "edited.mp4")
    scenes = job["storyboard"]["scenes"]
    assert scene_colors(video, scenes, sorted(colors.values()))[0] == colors[spare]
    assert abs(probe(video).duration - sum(s["duration"] for s in scenes)) <= 0.05
    head = api.call("HEAD", job["preview"]["url"])
    assert head.status_code == 200 and head.headers["ETag"]
    again = api.get(job["preview"]["url"], headers={"If-None-Match": head.headers["ETag"]})
    assert again.status_code == 304

    # A job that asked for no preview gets none, and the route says why.
    off = api.pairs_job(campaign_id, numPairs=1, clipDuration=4, autoApprove=False,
                        preview=False)
    api.wait_status(off, "storyboard_ready", timeout=120)
    assert preview_of(api, off) == {"status": "none", "url": None, "renderedFor": None}
    missing = api.get(f"/api/v3/videos/{off}/preview")
    assert missing.status_code == 404 and "previews are off" in missing.json()["error"]

    # A draft from a dry-run: its own id, a poll route, a video, an hour of life, no job.
    # With a title card and crossfades: the preview joins them as the final video would.
    jobs_before = api.get("/api/v3/jobs").json()["meta"]
    dry = api.post("/api/v3/jobs/dry-run", json={
        "numPairs": 2, "clipDuration": 4, "preview": True, "assetIds": ids[:4],
        "transition": "crossfade", "transitionSeconds": 0.5, "titleCard": {"text": "Hi"}})
    assert dry.status_code == 200, dry.text
    draft = dry.json()["data"]["preview"]
    assert draft["status"] == "rendering" and draft["expiresAt"]
    wait_until(lambda: api.get(f"/api/v3/previews/{draft['id']}").json()["data"]["status"]
               == "ready", timeout=180, interval=0.2, message="the draft preview")
    shown = api.get(f"/api/v3/previews/{draft['id']}").json()["data"]
    clip = download(api, shown["url"], tmp_path / "draft.mp4")
    # 3 s card + 4 s + 4 s, overlapped 0.5 s at each of the two joins.
    assert abs(probe(clip).duration - 10.0) <= 0.05
    # A second into each scene (the first starts at 2.5 s, the second at 6 s).
    names = sorted(colors.values())
    assert [nearest(mean_color(clip, at), names) for at in (3.5, 7.0)] == [
        colors[ids[0]], colors[ids[2]]]
    # The PREVIEW mark on the card and on both scenes, and nothing like it elsewhere.
    for at in (1.0, 3.5, 7.0):
        assert luma_spread(clip, at, "bottom-right") > 80, at
        assert luma_spread(clip, at, "top-left") < 40, at
    assert api.get("/api/v3/jobs").json()["meta"]["total"] == jobs_before["total"]
