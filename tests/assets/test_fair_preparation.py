"""Four property jobs of one tenant, all photos dripping, do not hold up another tenant's
storyboard (issue 14, item 3): a job's preparation runs on the actor system's I/O pool in its
owner's turn, with at most half the workers per tenant, and its photos share one deadline on
the fair fetch pool."""

from __future__ import annotations

import time
from typing import Any

import pytest

from actorvid.app import build_app
from tests.conftest import make_user, serve_in_thread, wait_until
from tests.jobs.conftest import Api

from .conftest import Media, Remote


def _storyboard_seconds(api: Api, campaign_id: str) -> float:
    started = time.monotonic()
    job_id = api.pairs_job(campaign_id, numPairs=1, autoApprove=False)
    api.wait_status(job_id, "storyboard_ready", timeout=60)
    return time.monotonic() - started


@pytest.mark.asset_settings(ingest_deadline_seconds=20.0, fetch_workers=4, fetch_per_user=2)
def test_slow_property_jobs_do_not_delay_another_tenants_storyboard(
        live_ctx: Any, remote: Remote, media: Media) -> None:
    slow_user, other_user = make_user(live_ctx, "slow"), make_user(live_ctx, "other")
    for live in serve_in_thread(build_app(live_ctx)):
        other = Api(live.url, other_user)
        campaign = other.campaign()
        other.images(campaign["id"], 2)
        alone = _storyboard_seconds(other, campaign["id"])

        slow = Api(live.url, slow_user)
        slow_campaign = slow.campaign()
        photo = media.bytes("image.png")[:64]
        for job in range(4):
            photos = [{"id": f"j{job}p{n}", "url": remote.drip(f"/j{job}/p{n}.png", photo)}
                      for n in range(14)]
            resp = slow.post("/api/v3/jobs/from-property-photos", json={
                "campaignId": slow_campaign["id"], "photos": photos,
                "propertyInfo": {"name": "Villa", "location": "Coast",
                                 "propertyType": "villa", "positioning": "luxury"}})
            assert resp.status_code == 201, resp.text
        wait_until(lambda: sum(path.startswith("/j") for path, _ in remote.hits) >= 2,
                   timeout=30, message="the slow photos to start dripping")
        loaded = _storyboard_seconds(other, campaign["id"])
        assert loaded - alone <= 1.0, (alone, loaded)
