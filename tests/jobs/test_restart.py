"""kill -9 of the real server during rendering, then a restart: nothing lost, nothing paid twice."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
from contextlib import contextmanager

import requests

from tests.conftest import ApiUser, wait_until
from tests.jobs.conftest import Api, png
from tests.processes import running_server


@contextmanager
def server(tmp_path, env):
    with running_server(tmp_path, env) as running:
        yield running.proc, running.url, running.lines


def stored_prediction_ids(db_path, job_id):
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT provider_id FROM sub_jobs WHERE job_id = ?",
                            (int(job_id),)).fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows]


def test_sigkill_mid_render_then_restart_completes_without_paying_twice(tmp_path,
                                                                         fake_replicate):
    fake_replicate.set_timing("google/veo-3.1", queue=10, run=300)  # ~3 s each
    db_path = tmp_path / "restart.db"
    env = {**os.environ, "ACTORVID_DB": str(db_path), "ACTORVID_DATA_DIR": str(tmp_path),
           "REPLICATE_API_KEY": fake_replicate.token,
           "ACTORVID_REPLICATE_BASE_URL": fake_replicate.api_url,
           "ACTORVID_POLL_FIRST_SECONDS": "0.1", "ACTORVID_POLL_MAX_SECONDS": "0.5"}
    env.pop("XAI_API_KEY", None)
    env.pop("OPENAI_API_KEY", None)
    with server(tmp_path, env) as (proc, url, lines):
        key = next(m.group(1) for m in (re.search(r"API key (sk_\S+)", ln) for ln in lines)
                   if m)
        api = Api(url, ApiUser(0, "admin", "", key))
        campaign = api.campaign()
        for i, color in enumerate(("red", "green", "blue", "orange")):
            resp = api.post("/api/v3/assets", files={"file": (f"{i}.png", png(color),
                                                              "image/png")},
                            data={"campaignId": campaign["id"], "type": "image"})
            assert resp.status_code in (200, 201), resp.text
        job_id = api.post("/api/v3/jobs/from-image-pairs", json={
            "campaignId": campaign["id"], "numPairs": 3, "clipDuration": 4,
            "autoApprove": True, "allowReuse": True}).json()["data"]["jobId"]
        wait_until(lambda: all(stored_prediction_ids(db_path, job_id) or [None]),
                   timeout=60, message="every prediction id stored")
        assert api.job(job_id)["status"] == "video_processing"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    prefix = f"job{job_id}/"
    created = {p.id for p in fake_replicate.all_predictions() if p.tag.startswith(prefix)}
    assert len(created) == 3
    with server(tmp_path, env) as (proc, url, lines):
        api = Api(url, ApiUser(0, "admin", "", key))
        job = api.wait_status(job_id, "completed", timeout=120)
        assert job["clipCount"] == 3 and job["partial"] is False
        after = {p.id for p in fake_replicate.all_predictions() if p.tag.startswith(prefix)}
        assert after == created  # the restart polled the stored predictions: no new create
        assert set(stored_prediction_ids(db_path, job_id)) == created
        resp = requests.get(url + job["videoUrl"], headers={"X-API-Key": key,
                                                            "Range": "bytes=0-99"}, timeout=30)
        assert resp.status_code == 206
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
