"""``GET /metrics``: Prometheus text, guarded, and its numbers move while a job runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from actorvid.config import Secret, Settings
from actorvid.domain.models import VEO_MODEL
from tests.conftest import make_user, wait_until
from tests.fakes.replicate import FakeReplicate
from tests.jobs.conftest import FAST, Server, start_server

TOKEN = "metrics-token-for-tests"


@pytest.fixture
def metered(remote_settings: Settings, fake_replicate: FakeReplicate) -> Iterator[Server]:
    """The fake Replicate, slow enough that a scrape catches the render, with a metrics
    token configured."""
    fake_replicate.set_timing(VEO_MODEL, queue=10, run=80)
    settings = dataclasses.replace(remote_settings, metrics_token=Secret(TOKEN))
    yield from start_server(settings, FAST)


def scrape(server: Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape, keyed by (name, sorted labels)."""
    resp = requests.get(server.api.url + "/metrics", timeout=30,
                        headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(resp.text)
            for sample in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_only_admins_and_the_token_may_read_metrics(metered):
    url = metered.api.url + "/metrics"
    assert requests.get(url, timeout=30).status_code == 401
    wrong = requests.get(url, timeout=30, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["meta"]["code"]
    user = metered.api.get("/metrics")  # a user who is not an admin: not advertised
    assert user.status_code == 404
    admin = make_user(metered.ctx, "root", is_admin=True)
    shown = requests.get(url, headers=admin.headers, timeout=30)
    assert shown.status_code == 200 and "actorvid_jobs{" in shown.text


def test_the_numbers_move_while_a_job_runs(metered, fake_replicate):
    api = metered.api
    before = scrape(metered)
    assert value(before, "actorvid_jobs", status="video_processing") == 0
    assert value(before, "actorvid_create_limiter_tokens") > 0
    assert ("actorvid_media_slots_busy", ()) in before
    fake_replicate.next_outcome("failed")  # one prediction fails and is created again
    fake_replicate.inject("create", status=429, times=1)  # and every create pauses once
    campaign = api.campaign()
    api.images(campaign["id"], 4)
    created = api.post("/api/v3/jobs/from-image-pairs", json={
        "campaignId": campaign["id"], "numPairs": 2, "clipDuration": 4, "autoApprove": True})
    job_id = created.json()["data"]["jobId"]

    def rendering() -> bool:
        now = scrape(metered)
        return (value(now, "actorvid_jobs", status="video_processing") == 1
                and value(now, "actorvid_scenes_in_flight", kind="clip") >= 1
                and value(now, "actorvid_predictions_created_total", model="veo3") >= 1)

    wait_until(rendering, timeout=60, interval=0.05, message="a scrape during the render")
    api.wait_status(job_id, "completed", timeout=120)
    after = scrape(metered)
    assert value(after, "actorvid_jobs", status="completed") == 1
    assert value(after, "actorvid_jobs", status="video_processing") == 0
    assert value(after, "actorvid_scenes_in_flight", kind="clip") == 0
    assert value(after, "actorvid_predictions_created_total", model="veo3") == 3
    assert value(after, "actorvid_predictions_failed_total", model="veo3") == 1
    assert value(after, "actorvid_predictions_retried_total", model="veo3") == 1
    assert value(after, "actorvid_create_limiter_pauses_total") == 1
    assert value(before, "actorvid_create_limiter_pauses_total") == 0
    assert value(after, "actorvid_blob_bytes") > value(before, "actorvid_blob_bytes")
    assert value(after, "actorvid_database_bytes") > 0
    polls = value(after, "actorvid_http_request_duration_seconds_count",
                  route="/api/v3/jobs/{job_id}", method="GET", status="200")
    assert polls >= 1  # by route template, not one series per job id
    assert value(after, "actorvid_http_request_duration_seconds_count",
                 route="/api/v3/jobs/from-image-pairs", method="POST", status="201") == 1
