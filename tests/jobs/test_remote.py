"""Jobs end to end against the fake Replicate and fake xAI, over real HTTP on loopback."""

from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import wait_until
from tests.jobs.conftest import FAST, clips_total, download, png, probe, with_allowlist

FRAME = 1 / 30


def start_pairs(api, count_images=None, **fields):
    """An image-pairs job over enough photos for the pairs asked (no photo twice)."""
    campaign = api.campaign()
    api.images(campaign["id"], count_images or max(4, 2 * fields.get("numPairs", 2)))
    return api.pairs_job(campaign["id"], **fields)


def test_image_pairs_with_grok_and_replicate(remote, fake_replicate, fake_xai, tmp_path):
    api = remote.api
    job_id = start_pairs(api, numPairs=3, clipDuration=5, generateAudio=True)
    job = api.wait_status(job_id, "completed", timeout=180)
    board = job["storyboard"]
    assert board["selection"]["provider"] == "xai"
    assert [s["duration"] for s in board["scenes"]] == [6, 6, 6]  # 5 s is not a Veo duration
    assert all(s["model"] == "veo3" and s["provider"] == "replicate" for s in board["scenes"])
    assert job["estimatedCost"] > 0 and job["actualCost"] > 0
    assert job["audio"]["status"] == "completed"

    chat = fake_xai.requests()[0]["body"]
    assert chat["model"] == "grok-4-1-fast-non-reasoning"
    assert chat["response_format"]["type"] == "json_schema"
    creates = fake_replicate.journal.requests("create")
    videos = [c for c in creates if "veo-3.1" in c["path"]]
    assert len(videos) == 3  # one create per scene, nothing paid twice
    for create in videos:
        body = create["body"]["input"]
        assert body["duration"] in (4, 6, 8) and body["generate_audio"] is False
        assert body["image"].startswith("data:image/png;base64,")
        assert body["last_frame"].startswith("data:image/png;base64,")

    final = download(api, job["videoUrl"], tmp_path / "final.mp4")
    info = probe(final)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert abs(info.duration - clips_total(api, job_id, tmp_path)) <= FRAME + 1e-6
    ranged = api.get(job["videoUrl"], headers={"Range": f"bytes=-{1000}"})
    assert ranged.status_code == 206 and ranged.content == final.read_bytes()[-1000:]


@pytest.fixture
def slow(fake_replicate):
    def set_run(simulated_seconds):
        fake_replicate.set_timing("google/veo-3.1", queue=1, run=simulated_seconds)
    return set_run


def test_at_most_ten_predictions_of_a_job_in_flight(remote, fake_replicate, slow):
    slow(150)  # 1.5 s each: long enough for every slot to fill
    job_id = start_pairs(remote.api, count_images=6, numPairs=12, clipDuration=4,
                         allowReuse=True)
    remote.api.wait_status(job_id, "completed", timeout=180)
    prefix = f"job{job_id}/"
    assert fake_replicate.journal.max_in_flight(prefix) == 10
    mine = [p for p in fake_replicate.all_predictions() if p.tag.startswith(prefix)]
    assert len(mine) == 12
    # Rendered in parallel without depending on the machine's speed: ten were running at one
    # moment (above), and the last two started only as earlier ones finished.
    first_done = min(p.completed for p in mine)
    later = sorted(mine, key=lambda p: p.created)[10:]
    assert all(p.created >= first_done for p in later)


def test_cancel_mid_render_cancels_predictions_at_the_provider(remote, fake_replicate, slow):
    slow(100_000)  # they would run for ever
    job_id = start_pairs(remote.api, numPairs=3, clipDuration=4)
    prefix = f"job{job_id}/"
    wait_until(lambda: fake_replicate.journal.in_flight(prefix) == 3, timeout=60,
               message="three predictions running")
    resp = remote.api.post(f"/api/v3/jobs/{job_id}/cancel")
    assert resp.status_code == 200
    wait_until(lambda: fake_replicate.journal.in_flight(prefix) == 0, timeout=10,
               message="predictions cancelled at the provider")
    statuses = {p.status for p in fake_replicate.all_predictions() if p.tag.startswith(prefix)}
    assert statuses == {"canceled"}
    job = remote.api.job(job_id)
    assert job["status"] == "cancelled"
    subs = remote.api.get(f"/api/v3/jobs/{job_id}/sub-jobs").json()["data"]
    assert subs["summary"]["cancelled"] == 3


@pytest.mark.parametrize("options", [dataclasses.replace(FAST, max_attempts=1)])
def test_one_scene_failing_for_good_gives_a_partial_video(remote, fake_replicate, options):
    fake_replicate.next_outcome("failed")
    job_id = start_pairs(remote.api, numPairs=3, clipDuration=4)
    job = remote.api.wait_status(job_id, "completed", timeout=120)
    assert job["partial"] is True
    assert len(job["failedScenes"]) == 1
    assert "E005" in job["failedScenes"][0]["error"]
    assert job["clipCount"] == 2


@pytest.mark.parametrize("options", [dataclasses.replace(FAST, max_attempts=1)])
def test_all_scenes_failing_fails_the_job_with_reasons(remote, fake_replicate, options):
    fake_replicate.next_outcome("failed")
    fake_replicate.next_outcome("aborted")
    job_id = start_pairs(remote.api, numPairs=2, clipDuration=4)
    job = remote.api.wait_status(job_id, "failed", timeout=120)
    assert "All 2 scenes failed" in job["error"]
    assert "E005" in job["error"] and "aborted" in job["error"]
    assert job["videoUrl"] is None


def test_a_failed_prediction_is_created_again(remote, fake_replicate):
    fake_replicate.next_outcome("failed")
    job_id = start_pairs(remote.api, numPairs=2, clipDuration=4)
    job = remote.api.wait_status(job_id, "completed", timeout=120)
    assert job["partial"] is False
    prefix = f"job{job_id}/"
    assert len([p for p in fake_replicate.all_predictions() if p.tag.startswith(prefix)]) == 3
    subs = remote.api.get(f"/api/v3/jobs/{job_id}/sub-jobs").json()["data"]["subJobs"]
    assert sorted(s["retryCount"] for s in subs) == [0, 1]


def test_a_429_storm_slows_down_but_loses_nothing(remote, fake_replicate):
    fake_replicate.inject("create", status=429, times=4)
    job_id = start_pairs(remote.api, numPairs=3, clipDuration=4)
    remote.api.wait_status(job_id, "completed", timeout=120)
    prefix = f"job{job_id}/"
    assert len([p for p in fake_replicate.all_predictions() if p.tag.startswith(prefix)]) == 3
    assert fake_replicate.journal.create_requests == 3 + 4  # four refused, three accepted


@pytest.mark.parametrize("reply", [
    "I think the best pairs are the red and the blue ones.",
    '{"pairs": [{"first_id": "invented-1", "last_id": "invented-2", "score": 0.9}]}',
])
def test_a_bad_llm_answer_still_yields_a_valid_storyboard(remote, fake_xai, reply):
    for _ in range(3):
        fake_xai.reply(reply)
    api = remote.api
    campaign = api.campaign()
    images = {a["id"] for a in api.images(campaign["id"], 4)}
    job_id = api.post("/api/v3/jobs/from-image-pairs", json={
        "campaignId": campaign["id"], "numPairs": 2}).json()["data"]["jobId"]
    job = api.wait_status(job_id, "storyboard_ready")
    scenes = job["storyboard"]["scenes"]
    assert len(scenes) == 2
    for scene in scenes:
        assert {scene["firstAssetId"], scene["lastAssetId"]} <= images
        assert scene["firstAssetId"] != scene["lastAssetId"]
    assert job["storyboard"]["selection"]["provider"] == "local"
    assert job["storyboard"]["selection"]["notes"]


@pytest.fixture
def property_server(remote_settings, fake_replicate, photo_server):
    from tests.jobs.conftest import start_server

    for model in ("google/veo-3.1", "minimax/hailuo-02"):
        fake_replicate.set_timing(model, queue=10, run=40)
    settings = with_allowlist(remote_settings, "127.0.0.1/32")
    yield from start_server(settings, FAST)


def test_property_video_exactly_seven_typed_scenes(property_server, fake_xai, photo_server,
                                                   tmp_path):
    from actorvid.workflows.scenes import PROPERTY_SCENE_NAMES

    api = property_server.api
    campaign = api.campaign("Lodge")
    colors = ["red", "green", "blue", "orange", "purple", "yellow", "cyan", "magenta",
              "white", "gray", "brown", "pink", "navy", "olive"]
    photos = [{"id": f"p{i}", "url": photo_server(f"p{i}.png", png(color)),
               "filename": f"p{i}.png", "tags": [["exterior", "lobby", "bedroom", "restaurant",
                                                 "pool", "beach", "sunset"][i % 7]]}
              for i, color in enumerate(colors)]
    # The model answers with one photo used twice and a scene missing: repaired, not failed.
    fake_xai.reply_json({"pairs": [
        {"scene_type": "Grand Arrival", "first_id": "p0", "last_id": "p7", "score": 0.9},
        {"scene_type": "Refined Interiors", "first_id": "p0", "last_id": "p1", "score": 0.8},
    ]})
    resp = api.post("/api/v3/jobs/from-property-photos", json={
        "propertyInfo": {"name": "Lodge", "location": "Alps", "propertyType": "hotel",
                         "positioning": "luxury"},
        "photos": photos, "campaignId": campaign["id"], "clipDuration": 4,
        "autoApprove": True})
    assert resp.status_code == 201, resp.text
    job_id = resp.json()["data"]["jobId"]
    job = api.wait_status(job_id, "completed", timeout=240)
    scenes = job["storyboard"]["scenes"]
    assert [s["sceneType"] for s in scenes] == list(PROPERTY_SCENE_NAMES)
    used = [a for s in scenes for a in (s["firstAssetId"], s["lastAssetId"])]
    assert len(used) == 14 and len(set(used)) == 14  # no photo twice
    assert job["clipCount"] == 7
    final = download(api, job["videoUrl"], tmp_path / "property.mp4")
    assert abs(probe(final).duration - clips_total(api, job_id, tmp_path)) <= FRAME + 1e-6


def test_property_video_validation(remote):
    api = remote.api
    campaign = api.campaign()
    short = api.post("/api/v3/jobs/from-property-photos", json={
        "propertyInfo": {"name": "x", "location": "y", "propertyType": "z", "positioning": "w"},
        "photos": [{"id": f"p{i}", "url": f"https://example.test/{i}.jpg"} for i in range(13)],
        "campaignId": campaign["id"]})
    assert short.status_code == 422
    assert short.json()["meta"]["details"][0]["loc"] == ["body", "photos"]
    bad_scheme = api.post("/api/v3/jobs/from-property-photos", json={
        "propertyInfo": {"name": "x", "location": "y", "propertyType": "z", "positioning": "w"},
        "photos": [{"id": f"p{i}", "url": f"file:///etc/{i}"} for i in range(14)],
        "campaignId": campaign["id"]})
    assert bad_scheme.status_code == 422


def test_a_scene_is_regenerated_by_the_llm_writer(remote, fake_xai):
    """With an LLM key, regenerating a scene asks the model to rewrite it (issue 16: it
    used to append the feedback to the prompt, and rewrite_scene was never called)."""
    api = remote.api
    job_id = start_pairs(api, numPairs=1, autoApprove=False, preview=False)
    scene = api.wait_status(job_id, "storyboard_ready")["scenes"][0]
    fake_xai.reply_json({"description": "A slow glide past the pool at dusk", "script": "",
                         "shot_type": "wide", "transition": "cut", "duration": 6})
    asked = len(fake_xai.requests())

    resp = api.post(f"/api/v3/jobs/{job_id}/scenes/{scene['id']}/regenerate",
                    json={"feedback": "show the pool"})

    assert resp.status_code == 200, resp.text
    (rewrite,) = fake_xai.requests()[asked:]
    body = rewrite["body"]
    assert body["response_format"]["json_schema"]["name"] == "scene"
    user = body["messages"][-1]["content"]
    assert scene["prompt"] in user and "Feedback: show the pool" in user
    rewritten = resp.json()["data"]
    assert rewritten["prompt"] == "A slow glide past the pool at dusk"
    assert rewritten["metadata"] == {"generator": "xai"}
    assert (rewritten["duration"], rewritten["firstAssetId"]) == (scene["duration"],
                                                                  scene["firstAssetId"])
    stored = api.get(f"/api/v3/jobs/{job_id}").json()["data"]["storyboard"]["scenes"][0]
    assert stored["basePrompt"] == scene["prompt"]
    assert stored["prompt"] == "A slow glide past the pool at dusk"
