"""What the person who ordered a video gets: the file measured, the choices made visible."""

from __future__ import annotations

import pytest

from actorvid.media import inspect
from actorvid.media.ffmpeg import FFmpeg
from tests.jobs.conftest import download
from tests.jobs.test_remote import start_pairs


def final_problems(api, job, tmp_path) -> list[str]:
    path = download(api, job["videoUrl"], tmp_path / f"job{job['id']}.mp4")
    return inspect.problems(FFmpeg.locate(), path, soundtrack=True)


@pytest.mark.parametrize("scenes", [1, 7, 10])
def test_a_remote_job_with_a_soundtrack_passes_every_check(remote, tmp_path, scenes):
    api = remote.api
    job_id = start_pairs(api, numPairs=scenes, clipDuration=4, generateAudio=True)
    job = api.wait_status(job_id, "completed", timeout=300)
    assert job["audio"]["status"] == "completed", job["audio"]
    assert job["clipCount"] == scenes
    assert final_problems(api, job, tmp_path) == []


def test_an_offline_job_with_a_soundtrack_passes_every_check(offline, tmp_path):
    api = offline.api
    job_id = start_pairs(api, numPairs=3, clipDuration=4, generateAudio=True)
    job = api.wait_status(job_id, "completed", timeout=300)
    assert job["audio"]["status"] == "completed", job["audio"]
    assert final_problems(api, job, tmp_path) == []


def storyboard_of(api, **fields):
    campaign = api.campaign()
    images = api.images(campaign["id"], fields.pop("photos"))
    resp = api.post("/api/v3/jobs/from-image-pairs", json={"campaignId": campaign["id"],
                                                          **fields})
    assert resp.status_code == 201, resp.text
    job = api.wait_status(resp.json()["data"]["jobId"], "storyboard_ready", timeout=60)
    return job, {i["id"] for i in images}


def test_six_photos_and_seven_pairs_make_three_scenes_and_say_why(offline):
    api = offline.api
    job, images = storyboard_of(api, photos=6, numPairs=7)
    scenes = job["storyboard"]["scenes"]
    used = [a for s in scenes for a in (s["firstAssetId"], s["lastAssetId"])]
    assert len(scenes) == 3
    assert len(used) == len(set(used)) == 6 and set(used) == images  # no photo twice
    notes = " ".join(job["storyboard"]["selection"]["notes"])
    assert "3 of the 7 scenes" in notes and "6 photos" in notes
    assert "3 of the 7 scenes" in job["progress"]["message"]
    api.post(f"/api/v3/jobs/{job['id']}/cancel")


def test_reuse_only_when_the_request_allows_it(offline):
    job, _ = storyboard_of(offline.api, photos=3, numPairs=3, allowReuse=True)
    scenes = job["storyboard"]["scenes"]
    assert len(scenes) == 3
    assert len({(s["firstAssetId"], s["lastAssetId"]) for s in scenes}) == 3
    assert not any("scenes asked" in n for n in job["storyboard"]["selection"]["notes"])
    offline.api.post(f"/api/v3/jobs/{job['id']}/cancel")


def test_a_snapped_duration_is_shown_in_the_storyboard_and_the_dry_run(offline):
    api = offline.api
    job, _ = storyboard_of(api, photos=2, numPairs=1, clipDuration=3)
    change = {"field": "clipDuration", "requested": 3, "used": 4}
    (top,) = job["storyboard"]["adjustments"]
    assert {k: top[k] for k in change} == change and "4/6/8" in top["note"]
    assert job["storyboard"]["scenes"][0]["duration"] == 4
    assert job["scenes"][0]["adjustments"] == [top]
    api.post(f"/api/v3/jobs/{job['id']}/cancel")
    quote = api.post("/api/v3/jobs/dry-run", json={"numPairs": 2, "clipDuration": 3,
                                                  "videoModel": "hailuo"}).json()["data"]
    (snapped,) = quote["adjustments"]
    assert (snapped["requested"], snapped["used"]) == (3, 6) and "6/10" in snapped["note"]
    exact = api.post("/api/v3/jobs/dry-run", json={"numPairs": 2, "clipDuration": 4})
    assert exact.json()["data"]["adjustments"] == []
