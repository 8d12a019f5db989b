"""``POST /api/v3/jobs`` answers the asset ids the job will use (URLs fetched in the request)
and a real estimate, priced like ``POST /jobs/dry-run``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from actorvid.config import Settings
from actorvid.domain import models
from tests.jobs.conftest import FAST, Server, png, start_server, with_allowlist


@pytest.fixture
def fetching(settings: Settings) -> Iterator[Server]:
    """Offline, with URL ingestion allowed to reach the loopback photo server."""
    yield from start_server(with_allowlist(settings, "127.0.0.1/32"), FAST)


def brief(campaign: dict[str, Any], assets: list[dict[str, Any]], *, duration: float = 12,
          model: str = "veo3") -> dict[str, Any]:
    return {
        "context": {"clientId": campaign["clientId"], "campaignId": campaign["id"]},
        "adBasics": {"product": "Casa Azul", "targetAudience": "families",
                     "keyMessage": "Space to breathe", "callToAction": "Book now"},
        "creative": {"videoSpecs": {"duration": duration}, "direction": {"style": "warm"},
                     "assets": assets},
        "advanced": {"videoModel": model},
    }


def test_the_answer_names_existing_and_fetched_assets(fetching, photo_server):
    api = fetching.api
    campaign = api.campaign()
    uploaded = api.images(campaign["id"], 1)[0]
    url = photo_server("terrace.png", png("orange"))
    body = brief(campaign, [{"assetId": uploaded["id"]}, {"url": url, "name": "Terrace"},
                            {"type": "image"}])
    created = api.post("/api/v3/jobs", json=body)
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert len(data["assetIds"]) == 2 and data["assetIds"][0] == uploaded["id"]
    fetched = api.get(f"/api/v3/assets/{data['assetIds'][1]}").json()["data"]
    assert fetched["name"] == "Terrace" and fetched["type"] == "image"
    assert data["estimatedCost"] == 0.0  # local rendering is free
    # The job uses exactly these (the URL is not fetched a second time).
    job = fetching.api.wait_status(data["id"], "storyboard_ready", "video_processing",
                                   "completed")
    assert {s["firstAssetId"] for s in job["scenes"]} == set(data["assetIds"])
    total = api.get("/api/v3/assets", params={"campaign_id": campaign["id"]})
    assert total.json()["meta"]["total"] == 2
    again = api.post("/api/v3/jobs", json=body)  # the same URL later: reused, not fetched
    assert again.json()["data"]["assetIds"] == data["assetIds"]
    assert api.get("/api/v3/assets").json()["meta"]["total"] == 2


def test_a_url_that_cannot_be_fetched_refuses_the_request(fetching, photo_server):
    api = fetching.api
    campaign = api.campaign()
    missing = photo_server("there.png", png("red")).replace("there.png", "gone.png")
    before = api.get("/api/v3/jobs").json()["meta"]["total"]
    resp = api.post("/api/v3/jobs", json=brief(campaign, [{"url": missing}]))
    assert resp.status_code == 502, resp.text  # as POST /assets/from-url answers it
    assert "HTTP 404" in resp.json()["error"]
    refused = api.post("/api/v3/jobs", json=brief(campaign, [{"url": "file:///etc/passwd"}]))
    assert refused.status_code == 422, refused.text
    locs = [d["loc"] for d in refused.json()["meta"]["details"]]
    assert ["body", "creative", "assets", 0, "url"] in locs
    assert api.get("/api/v3/jobs").json()["meta"]["total"] == before  # no job was created


def test_the_estimate_is_priced_like_the_dry_run(remote):
    api = remote.api
    campaign = api.campaign()
    created = api.post("/api/v3/jobs", json=brief(campaign, [], duration=40, model="hailuo"))
    assert created.status_code == 201, created.text
    quoted = created.json()["data"]["estimatedCost"]
    spec = models.render_spec("hailuo", 40 / 5)  # 40 s: five scenes of 8 s → 10 s clips
    assert quoted == pytest.approx(5 * models.render_cost(spec.model, spec.duration,
                                                          spec.resolution))
    dry = api.post("/api/v3/jobs/dry-run", json={
        "creative": {"videoSpecs": {"duration": 40}}, "videoModel": "hailuo"})
    assert dry.json()["data"]["estimatedCost"] == pytest.approx(quoted) and quoted > 0
