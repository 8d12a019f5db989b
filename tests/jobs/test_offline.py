"""Jobs end to end with the local providers: no keys, no network, real ffmpeg output."""

from __future__ import annotations

import pytest

from actorvid.media import inspect
from actorvid.media.ffmpeg import FFmpeg
from tests.jobs.conftest import clips_total, download, probe

FRAME = 1 / 30


def test_image_pairs_job_from_creation_to_downloadable_video(offline, tmp_path):
    api = offline.api
    campaign = api.campaign()
    api.images(campaign["id"], 4)
    created = api.post("/api/v3/jobs/from-image-pairs", json={
        "campaignId": campaign["id"], "numPairs": 2, "clipDuration": 4, "autoApprove": True})
    assert created.status_code == 201, created.text
    body = created.json()["data"]
    assert isinstance(body["jobId"], str) and body["totalAssets"] == 4
    job = api.wait_status(body["jobId"], "completed")
    assert job["progress"]["percent"] == 100
    assert job["progress"]["scenesCompleted"] == 2
    assert job["storyboard"]["selection"]["provider"] == "local"
    assert [s["duration"] for s in job["storyboard"]["scenes"]] == [4, 4]
    assert job["estimatedCost"] == 0 and job["actualCost"] == 0
    assert job["videoUrl"] == f"/api/v3/videos/{job['id']}/data"
    assert job["partial"] is False

    final = download(api, job["videoUrl"], tmp_path / "final.mp4")
    info = probe(final)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert (info.width, info.height) == (1280, 720)
    assert abs(info.duration - clips_total(api, job["id"], tmp_path)) <= FRAME + 1e-6
    assert abs(info.duration - 8.0) <= FRAME + 1e-6
    with final.open("rb") as handle:
        # +faststart: the moov atom comes before the media data.
        head = handle.read(4096)
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1
                                         or head.find(b"moov") < head.find(b"mdat"))

    ranged = api.get(job["videoUrl"], headers={"Range": "bytes=100-199"})
    assert ranged.status_code == 206 and len(ranged.content) == 100
    assert ranged.content == final.read_bytes()[100:200]
    thumb = api.get(job["thumbnailUrl"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    clip = api.get(f"/api/v3/videos/{job['id']}/clips/clip_001.mp4")
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
    assert api.get(f"/api/v3/videos/{job['id']}/clips/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert api.get(f"/api/v3/videos/{job['id']}/clips/clip_009.mp4").status_code == 404


def test_rendering_waits_for_approval_and_approve_is_once(offline):
    api = offline.api
    campaign = api.campaign()
    api.images(campaign["id"], 3)
    job_id = api.post("/api/v3/jobs/from-image-pairs", json={
        "campaignId": campaign["id"], "numPairs": 1, "clipDuration": 4}).json()["data"]["jobId"]
    job = api.wait_status(job_id, "storyboard_ready")
    assert job["progress"]["stage"] == "awaiting_approval"
    scene = job["scenes"][0]
    assert scene["status"] == "planned" and scene["firstAssetId"] != scene["lastAssetId"]
    subs = api.get(f"/api/v3/jobs/{job_id}/sub-jobs").json()["data"]
    assert subs["summary"]["total"] == 0  # nothing rendered before approval
    approved = api.post(f"/api/v3/jobs/{job_id}/approve")
    assert approved.status_code == 200
    again = api.post(f"/api/v3/jobs/{job_id}/approve")
    assert again.status_code == 409 and again.json()["meta"]["code"] == "conflict"
    api.wait_status(job_id, "completed")
    finished = api.post(f"/api/v3/jobs/{job_id}/actions", json={"action": "approve"})
    assert finished.status_code == 409


def test_cancel_stops_the_job_for_good(offline):
    api = offline.api
    campaign = api.campaign()
    api.images(campaign["id"], 3)
    job_id = api.post("/api/v3/jobs/from-image-pairs", json={
        "campaignId": campaign["id"], "numPairs": 1}).json()["data"]["jobId"]
    api.wait_status(job_id, "storyboard_ready")
    resp = api.post(f"/api/v3/jobs/{job_id}/actions", json={"action": "cancel"})
    assert resp.status_code == 200
    assert api.job(job_id)["status"] == "cancelled"
    assert api.post(f"/api/v3/jobs/{job_id}/approve").status_code == 409
    assert api.post(f"/api/v3/jobs/{job_id}/cancel").status_code == 409
    assert api.job(job_id)["status"] == "cancelled"


def test_standard_job_storyboard_editing_then_render(offline, tmp_path):
    api = offline.api
    campaign = api.campaign()
    images = api.images(campaign["id"], 2)
    brief = {
        "context": {"clientId": campaign["clientId"], "campaignId": campaign["id"]},
        "adBasics": {"product": "Villa Azul", "targetAudience": "families",
                     "keyMessage": "Space to breathe", "callToAction": "Book now"},
        "creative": {"videoSpecs": {"duration": 12, "format": "16:9"},
                     "direction": {"style": "warm"},
                     "assets": [{"assetId": images[0]["id"]}, {"assetId": images[1]["id"]}]},
        "advanced": {"autoApprove": False},
    }
    created = api.post("/api/v3/jobs", json=brief)
    assert created.status_code == 201, created.text
    job_id = created.json()["data"]["id"]
    job = api.wait_status(job_id, "storyboard_ready")
    scenes = api.get(f"/api/v3/jobs/{job_id}/scenes").json()["data"]["scenes"]
    assert len(scenes) == 3  # a 12 s brief makes 3 scenes
    assert all(s["duration"] in (4, 6, 8) for s in scenes)
    first = scenes[0]
    edited = api.call("PUT", f"/api/v3/jobs/{job_id}/scenes/{first['id']}",
                      json={"description": "Sunrise over the pool", "duration": 7.2})
    assert edited.status_code == 200, edited.text
    assert edited.json()["data"]["duration"] == 8.0  # snapped to what the model can do
    regenerated = api.post(f"/api/v3/jobs/{job_id}/scenes/{first['id']}/regenerate",
                           json={"feedback": "slower camera"})
    assert regenerated.status_code == 200
    assert "slower camera" in regenerated.json()["data"]["prompt"]
    deleted = api.call("DELETE", f"/api/v3/jobs/{job_id}/scenes/{scenes[2]['id']}")
    assert deleted.status_code == 200
    job = api.job(job_id)
    assert [s["sceneNumber"] for s in job["scenes"]] == [1, 2]
    bad = api.call("PUT", f"/api/v3/jobs/{job_id}/scenes/{first['id']}",
                   json={"firstAssetId": "not-an-asset"})
    assert bad.status_code == 422
    assert api.get(f"/api/v3/jobs/{job_id}/scenes/unknown").status_code == 404

    api.post(f"/api/v3/jobs/{job_id}/approve")
    done = api.wait_status(job_id, "completed")
    locked = api.call("PUT", f"/api/v3/jobs/{job_id}/scenes/{first['id']}",
                      json={"description": "too late"})
    assert locked.status_code == 409
    final = download(api, done["videoUrl"], tmp_path / "standard.mp4")
    assert abs(probe(final).duration - (8 + scenes[1]["duration"])) <= FRAME + 1e-6


def test_soundtrack_offline_keeps_the_length_and_fades_out(offline, tmp_path):
    api = offline.api
    campaign = api.campaign()
    api.images(campaign["id"], 4)
    job_id = api.post("/api/v3/jobs/from-image-pairs", json={
        "campaignId": campaign["id"], "numPairs": 2, "clipDuration": 4, "autoApprove": True,
        "generateAudio": True}).json()["data"]["jobId"]
    job = api.wait_status(job_id, "completed", timeout=180)
    assert job["audio"]["status"] == "completed", job["audio"]
    final = download(api, job["videoUrl"], tmp_path / "scored.mp4")
    info = probe(final)
    assert info.audio_codec == "aac"
    assert abs(info.duration - 8.0) <= FRAME + 1e-6
    levels = loudness(final, [(3.5, 1.0), (7.85, 0.15)])
    assert levels[0] > -45, levels  # music in the middle, measured
    assert levels[1] < levels[0] - 10, levels  # and faded out at the end
    audio = api.get(f"/api/v3/audio/{job_id}/download")
    assert audio.status_code == 200


def loudness(path, windows):
    """Mean volume (dB) of the audio in each (start, duration) window, measured by ffmpeg."""
    import re
    import subprocess

    from actorvid.media.ffmpeg import FFmpeg

    ffmpeg = FFmpeg.locate()
    out = []
    for start, length in windows:
        proc = subprocess.run([ffmpeg.binary, "-hide_banner", "-nostdin", "-ss", str(start),
                               "-t", str(length), "-i", str(path), "-vn", "-af", "volumedetect",
                               "-f", "null", "-"], capture_output=True, text=True, timeout=60)
        match = re.search(r"mean_volume: (-?[\d.]+|-inf) dB", proc.stderr)
        out.append(float(match.group(1)) if match and match.group(1) != "-inf" else -120.0)
    return out


def test_audio_job_has_the_requested_duration(offline, tmp_path):
    api = offline.api
    resp = api.post("/api/v3/audio/generate-scenes", json={
        "scenes": [{"scene_number": 1, "prompt": "calm piano", "duration": 3},
                   {"scene_number": 2, "prompt": "warm strings"}],
        "default_duration": 2.5})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["data"]["jobId"]
    assert resp.json()["data"]["total_duration"] == pytest.approx(5.5)
    api.wait_status(job_id, "completed")
    status = api.get(f"/api/v3/audio/status/{job_id}").json()["data"]
    assert status["audio"]["status"] == "completed"
    track = download(api, f"/api/v3/audio/{job_id}/download", tmp_path / "track.m4a")
    assert abs(probe(track).duration - 5.5) <= 0.1
    # Delivered on its own, the track is mastered like a video's: measured, −16 LUFS.
    ffmpeg = FFmpeg.locate()
    assert abs(inspect.stream_duration(ffmpeg, track, "a") - status["total_duration"]) <= 0.05
    assert abs(inspect.loudness(ffmpeg, track).integrated + 16) <= 1
    assert inspect.silences(ffmpeg, track) == []


@pytest.mark.parametrize("body,loc", [
    ({}, ["body", "campaignId"]),
    ({"campaignId": "x", "videoModel": "sora"}, ["body", "videoModel"]),
    ({"campaignId": "x", "numPairs": 0}, ["body", "numPairs"]),
    ({"campaignId": "x", "clipDuration": "long"}, ["body", "clipDuration"]),
])
def test_image_pair_job_validation(offline, body, loc):
    resp = offline.api.post("/api/v3/jobs/from-image-pairs", json=body)
    assert resp.status_code == 422
    assert loc in [d["loc"] for d in resp.json()["meta"]["details"]]


def test_job_needs_two_images_and_the_callers_campaign(offline):
    api = offline.api
    campaign = api.campaign()
    api.images(campaign["id"], 1)
    resp = api.post("/api/v3/jobs/from-image-pairs", json={"campaignId": campaign["id"]})
    assert resp.status_code == 422
    assert resp.json()["error"] == "Need at least 2 image assets, but campaign has 1"
    missing = api.post("/api/v3/jobs/from-image-pairs", json={"campaignId": "nope"})
    assert missing.status_code == 404
    assert api.get("/api/v3/jobs/999999").status_code == 404
    assert api.get("/api/v3/jobs/abc").status_code == 404


def test_dry_run_is_a_real_estimate(offline):
    resp = offline.api.post("/api/v3/jobs/dry-run", json={"numPairs": 5, "clipDuration": 6})
    data = resp.json()["data"]
    assert data["scenes"] == 5 and data["totalDuration"] == 30
    assert data["estimatedCost"] == 0  # local rendering is free
    assert data["validUntil"].endswith("Z")


def test_a_request_refused_because_the_engine_is_down_leaves_no_row(offline):
    api = offline.api
    campaign = api.campaign()
    api.images(campaign["id"], 2)
    offline.ctx.runtime.system.stop()  # the actor system is gone; the HTTP side still answers
    resp = api.post("/api/v3/jobs/from-image-pairs", json={"campaignId": campaign["id"],
                                                            "numPairs": 1})
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"]
    with offline.ctx.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == 0
