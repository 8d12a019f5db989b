"""Conditional polls against a real server: 304 while nothing changed, 200 once a scene has."""

from __future__ import annotations

from tests.conftest import wait_until


def _etag(resp) -> str:
    tag = resp.headers.get("ETag")
    assert tag and tag.startswith('W/"'), resp.headers
    return tag


def test_job_poll_is_304_until_a_scene_finishes(offline):
    api = offline.api
    campaign = api.campaign()
    api.images(campaign["id"], 4)
    job_id = api.post("/api/v3/jobs/from-image-pairs", json={
        "campaignId": campaign["id"], "numPairs": 2, "clipDuration": 4,
        # No preview: its render would move the job's tag while it waits for approval.
        "preview": False}).json()["data"]["jobId"]
    api.wait_status(job_id, "storyboard_ready")  # waits for approval: nothing moves

    first = api.get(f"/api/v3/jobs/{job_id}")
    assert first.status_code == 200
    tag = _etag(first)
    unchanged = api.get(f"/api/v3/jobs/{job_id}", headers={"If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["ETag"] == tag
    # Another user's poll with the same tag is not answered from it.
    assert api.get(f"/api/v3/jobs/{int(job_id) + 1}",
                   headers={"If-None-Match": tag}).status_code == 404

    assert api.post(f"/api/v3/jobs/{job_id}/approve").status_code == 200
    seen: dict[str, object] = {"tag": tag}

    def a_scene_finished() -> bool:
        resp = api.get(f"/api/v3/jobs/{job_id}", headers={"If-None-Match": seen["tag"]})
        if resp.status_code == 304:
            return False
        assert resp.status_code == 200, resp.text
        assert _etag(resp) != seen["tag"]  # a 200 always carries the new state's tag
        seen["tag"] = _etag(resp)
        return resp.json()["data"]["progress"]["scenesCompleted"] >= 1

    wait_until(a_scene_finished, timeout=120, interval=0.05, message="a finished scene")
    job = api.wait_status(job_id, "completed")
    done = api.get(f"/api/v3/jobs/{job_id}")
    assert done.json()["data"]["status"] == job["status"]
    assert api.get(f"/api/v3/jobs/{job_id}",
                   headers={"If-None-Match": _etag(done)}).status_code == 304

    listing = api.get("/api/v3/jobs")
    assert api.get("/api/v3/jobs",
                   headers={"If-None-Match": _etag(listing)}).status_code == 304
