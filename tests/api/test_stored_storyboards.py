"""A job row of today's shape (its storyboard a version-1 camelCase dict, as every stored row
before issue 16 has) still renders and edits; an edit stores version 2 and renders the same."""

from __future__ import annotations

import copy
import json

import falcon.testing

from actorvid.api.context import AppContext
from actorvid.clock import now_iso
from actorvid.store import jobs
from tests.conftest import ApiUser
from tests.domain.test_storyboard import PROPERTY_V1


def test_a_version_1_row_renders_and_an_edit_stores_version_2(
        ctx: AppContext, client: falcon.testing.TestClient, user: ApiUser) -> None:
    with ctx.db.write() as conn:
        job = jobs.create_job(conn, user_id=user.id, type="property_video",
                              parameters={"campaignId": "c1"}, now=now_iso())
        jobs.set_job_stage(conn, job.id, expected_status="pending", status="storyboard_processing",
                           stage="storyboard",
                           now=now_iso())
        jobs.save_storyboard(conn, job.id, storyboard=copy.deepcopy(PROPERTY_V1),
                             estimated_cost=0.56, now=now_iso())
    path = f"/api/v3/jobs/{job.id}"

    shown = client.simulate_get(path, headers=user.headers).json["data"]
    assert shown["storyboard"] == PROPERTY_V1
    (scene,) = shown["scenes"]
    assert (scene["id"], scene["sceneNumber"], scene["firstAssetId"], scene["model"]) == (
        "scene-1", 1, "img-a", "hailuo")

    edited = client.simulate_put(f"{path}/scenes/scene-1", json={"prompt": "closer"},
                                 headers=user.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json["data"]["prompt"] == "closer"

    with ctx.db.read() as conn:
        raw = conn.execute("SELECT storyboard FROM jobs WHERE id = ?", (job.id,)).fetchone()[0]
    stored = json.loads(raw)
    assert stored["version"] == 2 and stored["scenes"][0]["prompt"] == "closer"
    assert stored["selection"]["photo_assets"] == {"p1": "img-a"}

    again = client.simulate_get(path, headers=user.headers).json["data"]["storyboard"]
    assert "version" not in again
    assert again["scenes"][0]["prompt"] == "closer"
    assert again["selection"] == PROPERTY_V1["selection"]
    unchanged = {k: v for k, v in PROPERTY_V1["scenes"][0].items()
                 if k not in ("prompt", "adjustments")}
    assert {k: again["scenes"][0][k] for k in unchanged} == unchanged
