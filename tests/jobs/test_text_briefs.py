"""Standard jobs from a text brief alone, and mixed briefs (some scenes with an image, some
without): offline with the local renderer, and on the fake Replicate (text-to-video inputs)."""

from __future__ import annotations

import subprocess
from typing import Any

from actorvid.media.ffmpeg import FFmpeg
from tests.fakes.replicate import REGISTRY, cross_field_problem, validate_input
from tests.jobs.conftest import Api, download, probe

FRAME = 1 / 30
BRAND_RED = "#c0392b"


def brief(client_id: str, *, duration: float, assets: list[dict[str, Any]] | None = None,
          auto: bool = True, model: str = "veo3") -> dict[str, Any]:
    return {
        "context": {"clientId": client_id},
        "adBasics": {"product": "Casa Azul", "targetAudience": "families",
                     "keyMessage": "Space to breathe", "callToAction": "Book now"},
        "creative": {"videoSpecs": {"duration": duration, "format": "16:9"},
                     "direction": {"style": "warm"}, "assets": assets or []},
        "advanced": {"autoApprove": auto, "videoModel": model},
    }


def red_client(api: Api) -> str:
    resp = api.post("/api/v3/clients", json={
        "name": "Casa Azul", "brandGuidelines": {"colors": ["not a colour", BRAND_RED]}})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["data"]["id"])


def mean_rgb(path: Any, at: float) -> tuple[int, int, int]:
    """The average colour of the frame at ``at`` seconds (the frame scaled to one pixel)."""
    proc = subprocess.run([FFmpeg.locate().binary, "-hide_banner", "-loglevel", "error",
                           "-ss", str(at), "-i", str(path), "-frames:v", "1", "-vf",
                           "scale=1:1:flags=area", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                          capture_output=True, check=True, timeout=60)
    r, g, b = proc.stdout[:3]
    return r, g, b


def test_offline_text_only_brief_makes_a_video_in_the_brand_colour(offline, tmp_path):
    api = offline.api
    client_id = red_client(api)
    created = api.post("/api/v3/jobs", json=brief(client_id, duration=12))
    assert created.status_code == 201, created.text
    job = api.wait_status(created.json()["data"]["id"], "completed", timeout=180)
    scenes = job["scenes"]
    assert len(scenes) == 3  # a 12 s brief makes 3 scenes
    assert all(s["firstAssetId"] is None and s["assets"] == [] for s in scenes)
    final = download(api, job["videoUrl"], tmp_path / "text.mp4")
    info = probe(final)
    assert info.video_codec == "h264"
    assert abs(info.duration - sum(s["duration"] for s in scenes)) <= FRAME + 1e-6
    r, g, b = mean_rgb(final, 1.0)
    assert r > g + 40 and r > b + 40, (r, g, b)  # the client's red, not the default blue


def test_offline_mixed_brief_renders_image_and_text_scenes(offline, tmp_path):
    api = offline.api
    campaign = api.campaign()
    image = api.images(campaign["id"], 1)[0]
    created = api.post("/api/v3/jobs", json=brief(
        campaign["clientId"], duration=12, assets=[{"assetId": image["id"]}], auto=False))
    assert created.status_code == 201, created.text
    job_id = created.json()["data"]["id"]
    job = api.wait_status(job_id, "storyboard_ready")
    assert all(s["firstAssetId"] == image["id"] for s in job["scenes"])
    second = job["scenes"][1]
    edited = api.call("PUT", f"/api/v3/jobs/{job_id}/scenes/{second['id']}",
                      json={"firstAssetId": None})
    assert edited.status_code == 200, edited.text
    assert edited.json()["data"]["firstAssetId"] is None
    assert edited.json()["data"]["lastAssetId"] is None
    assert api.post(f"/api/v3/jobs/{job_id}/approve").status_code == 200
    done = api.wait_status(job_id, "completed", timeout=180)
    assert [bool(s["assets"]) for s in done["scenes"]] == [True, False, True]
    assert all(s["status"] == "completed" for s in done["scenes"])
    final = download(api, done["videoUrl"], tmp_path / "mixed.mp4")
    total = sum(s["duration"] for s in done["scenes"])
    assert abs(probe(final).duration - total) <= FRAME + 1e-6


def video_creates(fake_replicate: Any) -> list[tuple[str, dict[str, Any]]]:
    """(model, input) of every video prediction create the fake received."""
    found = []
    for create in fake_replicate.journal.requests("create"):
        model = next((m for m in ("google/veo-3.1", "minimax/hailuo-02")
                      if m in create["path"]), None)
        if model is not None:
            found.append((model, create["body"]["input"]))
    return found


def assert_valid(model: str, data: dict[str, Any]) -> None:
    assert validate_input(REGISTRY[model], data) == [], (model, data)
    assert cross_field_problem(model, data) is None, (model, data)


def test_remote_text_only_brief_sends_prompt_only_predictions(remote, fake_replicate, tmp_path):
    api = remote.api
    client_id = red_client(api)
    created = api.post("/api/v3/jobs", json=brief(client_id, duration=12, model="hailuo"))
    assert created.status_code == 201, created.text
    job = api.wait_status(created.json()["data"]["id"], "completed", timeout=180)
    creates = video_creates(fake_replicate)
    assert len(creates) == len(job["scenes"]) == 3
    for model, data in creates:
        assert model == "minimax/hailuo-02"
        assert_valid(model, data)
        assert data["prompt"] and not {"first_frame_image", "last_frame_image"} & set(data)
    final = download(api, job["videoUrl"], tmp_path / "remote-text.mp4")
    total = sum(s["duration"] for s in job["scenes"])
    assert abs(probe(final).duration - total) <= FRAME + 1e-6


def test_remote_mixed_brief_sends_frames_only_where_there_are_images(remote, fake_replicate,
                                                                       tmp_path):
    api = remote.api
    campaign = api.campaign()
    image = api.images(campaign["id"], 1)[0]
    created = api.post("/api/v3/jobs", json=brief(
        campaign["clientId"], duration=12, assets=[{"assetId": image["id"]}], auto=False))
    job_id = created.json()["data"]["id"]
    job = api.wait_status(job_id, "storyboard_ready")
    last = job["scenes"][-1]
    assert api.call("PUT", f"/api/v3/jobs/{job_id}/scenes/{last['id']}",
                    json={"firstAssetId": None}).status_code == 200
    assert api.post(f"/api/v3/jobs/{job_id}/approve").status_code == 200
    done = api.wait_status(job_id, "completed", timeout=180)
    creates = video_creates(fake_replicate)
    assert len(creates) == 3
    with_frames = []
    for model, data in creates:
        assert model == "google/veo-3.1"
        assert_valid(model, data)
        with_frames.append("image" in data)
        assert ("image" in data) == ("last_frame" in data)
    # Scenes render in parallel: count, not order, tells the two kinds apart.
    assert sorted(with_frames) == [False, True, True]
    final = download(api, done["videoUrl"], tmp_path / "remote-mixed.mp4")
    total = sum(s["duration"] for s in done["scenes"])
    assert abs(probe(final).duration - total) <= FRAME + 1e-6


def test_a_storyboard_ready_job_counts_its_planned_scenes(offline):
    """progress.scenesTotal is the storyboard's scene count before anything renders (it was
    0 while the storyboard listed 7 scenes)."""
    api = offline.api
    client_id = red_client(api)
    created = api.post("/api/v3/jobs", json=brief(client_id, duration=70, auto=False))
    job = api.wait_status(created.json()["data"]["id"], "storyboard_ready")
    assert len(job["storyboard"]["scenes"]) == 7  # over 60 s: seven scenes
    progress = api.job(job["id"])["progress"]
    assert progress["stage"] == "awaiting_approval"
    assert (progress["scenesTotal"], progress["scenesCompleted"]) == (7, 0)
    listed = api.get("/api/v3/jobs").json()["data"]
    assert [j["progress"]["scenesTotal"] for j in listed if j["id"] == job["id"]] == [7]
