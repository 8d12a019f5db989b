"""Kept GET answers (api/answers.py) change after every kind of change their stamp covers.

Each step writes rows the way the engine does (the store's transitions, each a millisecond
after the last), then reads the answer twice — from the app that keeps answers and from one
that builds every answer — and checks both show the change and agree byte for byte in
``data``. A field the stamp missed would show up here as the kept answer lagging behind.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import count
from typing import Any

import falcon.testing

from actorvid.api.answers import Answer, AnswerCache
from actorvid.app import build_app
from actorvid.clock import now_iso
from actorvid.domain.parameters import JobParameters
from actorvid.domain.preview import job_rendered_for
from actorvid.domain.scenes import PlannedScene
from actorvid.domain.storyboard import Storyboard
from actorvid.store import blobs, job_transitions, job_views
from actorvid.store import jobs as job_store
from actorvid.store import previews as preview_store
from actorvid.store.jobs import NewSubJob
from tests.conftest import wait_until


class Reader:
    """GETs from the caching app and from a cache-off app over the same database."""

    def __init__(self, ctx: Any, user: Any) -> None:
        self.cached = falcon.testing.TestClient(build_app(ctx))
        fresh_ctx = replace(ctx, settings=replace(ctx.settings, answer_cache_bytes=0),
                            services={})
        self.fresh = falcon.testing.TestClient(build_app(fresh_ctx))
        self.headers = user.headers
        self.cache: AnswerCache = ctx.services["answers"]

    def data(self, path: str) -> Any:
        kept = self.cached.simulate_get(path, headers=self.headers)
        again = self.cached.simulate_get(path, headers=self.headers)
        built = self.fresh.simulate_get(path, headers=self.headers)
        assert kept.status_code == again.status_code == built.status_code == 200
        # The second read came from the cache: same data, its own request id and timestamp.
        assert again.json["data"] == kept.json["data"] == built.json["data"]
        assert again.json["meta"]["requestId"] != kept.json["meta"]["requestId"]
        assert again.headers["ETag"] == kept.headers["ETag"] == built.headers["ETag"]
        assert {k: v for k, v in again.json["meta"].items() if k not in (
            "requestId", "timestamp")} == {k: v for k, v in built.json["meta"].items()
                                           if k not in ("requestId", "timestamp")}
        return kept.json["data"]


def _storyboard(description: str) -> dict[str, Any]:
    return {"scenes": [{"id": f"s{n}", "sceneNumber": n, "duration": 4.0,
                        "description": f"{description} {n}"} for n in (1, 2)],
            "totalDuration": 8.0}


def test_job_answer_follows_every_kind_of_change(ctx, user):
    reader = Reader(ctx, user)
    ms = count(1)

    def now() -> str:
        return f"2026-12-02T00:00:{next(ms):02d}.000Z"

    with ctx.db.write() as conn:
        job = job_store.create_job(conn, user_id=user.id, type="image_pairs",
                                   parameters={"preview": True}, now=now())
        job_transitions.set_job_stage(conn, job.id, expected_status="pending",
                                      status="storyboard_processing", stage="storyboard",
                                      now=now())
    path = f"/api/v3/jobs/{job.id}"
    seen = [reader.data(path)]

    def step(change: Any) -> dict[str, Any]:
        with ctx.db.write() as conn:
            change(conn)
        data = reader.data(path)
        assert data != seen[-1]
        seen.append(data)
        return data

    # The job row: storyboard and status, then a storyboard edit.
    data = step(lambda c: job_transitions.save_storyboard(
        c, job.id, storyboard=_storyboard("first"), estimated_cost=1.5, now=now()))
    assert data["status"] == "storyboard_ready" and data["estimatedCost"] == 1.5
    data = step(lambda c: job_views.replace_storyboard(
        c, job.id, storyboard=_storyboard("edited"), estimated_cost=2.5, now=now()))
    assert data["scenes"][0]["description"] == "edited 1" and data["estimatedCost"] == 2.5
    # The preview row: started, then finished (of the current storyboard), then stale.
    current = job_rendered_for(Storyboard.from_document(_storyboard("edited")),
                               JobParameters.from_request("image_pairs", {"preview": True}))
    data = step(lambda c: preview_store.start_job_preview(
        c, job.id, preview_id="p1", user_id=user.id, rendered_for=current, now=now()))
    assert data["preview"]["status"] == "rendering"
    data = step(lambda c: preview_store.finish_preview(
        c, "p1", rendered_for=current, status="ready", blob_id=blobs.write_blob(
            ctx.db, [b"a preview"]).id, duration=8.0, now=now()))
    assert data["preview"]["status"] == "ready" and data["preview"]["url"]
    data = step(lambda c: job_views.replace_storyboard(
        c, job.id, storyboard=_storyboard("again"), estimated_cost=2.5, now=now()))
    assert data["preview"]["status"] == "stale" and data["preview"]["url"] is None
    data = step(lambda c: preview_store.delete_job_preview(c, job.id))
    assert data["preview"]["renderedFor"] is None
    # Approval, then the sub-jobs: inserted, started, retried (only the error changes),
    # one clip done (status, URL, cost), one failed.
    data = step(lambda c: job_transitions.approve_job(c, job.id, now=now()))
    assert data["status"] == "video_processing" and data["approvedAt"]
    data = step(lambda c: job_store.insert_sub_jobs(c, job.id, [
        NewSubJob(id=f"sub{n}", scene=PlannedScene(scene_number=n, prompt="p", duration=4.0,
                                                   model="m"))
        for n in (1, 2)], now=now()))
    assert data["progress"]["scenesTotal"] == 2
    for n in (1, 2):
        data = step(lambda c, n=n: job_transitions.begin_attempt(
            c, f"sub{n}", tag=f"t{n}", provider="fake", input={}, now=now()))
    assert [s["status"] for s in data["scenes"]] == ["processing", "processing"]
    # A retry whose time was taken before a sibling's write but committed after it: only an
    # older row moves, the newest stamp among the scenes stays the same.
    before, retried, after = now(), now(), now()
    step(lambda c: job_transitions.record_prediction(c, "sub2", tag="t2", provider_id="pr2",
                                                     now=before))
    step(lambda c: job_transitions.record_prediction(c, "sub1", tag="t1", provider_id="pr1",
                                                     now=after))
    data = step(lambda c: job_transitions.retry_sub_job(c, "sub2", provider_id="pr2",
                                                        error="busy", now=retried))
    assert data["scenes"][1]["error"] == "busy"
    blob_id = blobs.write_blob(ctx.db, [b"a clip"]).id
    data = step(lambda c: job_store.complete_sub_job(c, "sub1", clip_blob_id=blob_id,
                                                     cost=0.25, now=now()))
    assert data["scenes"][0]["clipUrl"] and data["progress"]["scenesCompleted"] == 1
    data = step(lambda c: job_store.fail_sub_job(c, "sub2", error="gave up", now=now()))
    assert data["scenes"][1]["status"] == "failed"
    # The job's own progress note, then the end: video URL, costs, status.
    data = step(lambda c: job_transitions.update_progress(
        c, job.id, progress={"note": "one scene failed"}, now=now()))
    assert "one scene failed" in data["progress"]["message"]
    data = step(lambda c: job_transitions.complete_job(
        c, job.id, expected_stage="rendering", video_blob_id=blob_id, thumbnail_blob_id=None,
        audio_blob_id=None, result={"duration": 4.0, "partial": True}, actual_cost=0.25,
        now=now()))
    assert data["status"] == "completed" and data["videoUrl"] and data["actualCost"] == 0.25
    assert reader.cache.hits >= len(seen)


def test_client_list_answer_follows_create_update_delete_and_pages(ctx, user, other_user):
    reader = Reader(ctx, user)
    path = "/api/v3/clients"
    assert reader.data(path) == []
    made = reader.cached.simulate_post(path, headers=user.headers,
                                       json={"name": "Acme"}).json["data"]
    assert [c["name"] for c in reader.data(path)] == ["Acme"]
    # Another user's client neither shows nor is shown from this user's kept answer.
    reader.cached.simulate_post(path, headers=other_user.headers, json={"name": "Theirs"})
    assert [c["name"] for c in reader.data(path)] == ["Acme"]
    other = Reader(ctx, other_user)
    assert [c["name"] for c in other.data(path)] == ["Theirs"]
    reader.cached.simulate_post(path, headers=user.headers, json={"name": "Beta"})
    assert len(reader.data(path)) == 2
    # Each page is its own answer, with its own total and page number in meta.
    # Stamps have millisecond precision (documented): the edit lands in a later millisecond.
    created = now_iso()
    wait_until(lambda: now_iso() != created, message="the next millisecond")
    first = reader.data(path + "?limit=1&offset=0")
    second = reader.data(path + "?limit=1&offset=1")
    assert len(first) == len(second) == 1 and first != second
    edited = reader.cached.simulate_patch(f"{path}/{made['id']}", headers=user.headers,
                                          json={"metadata": {"tier": "gold"}})
    assert edited.status_code == 200
    assert {c["id"]: c["metadata"] for c in reader.data(path)}[made["id"]] == {"tier": "gold"}
    reader.cached.simulate_delete(f"{path}/{made['id']}", headers=user.headers)
    assert [c["name"] for c in reader.data(path)] == ["Beta"]


def test_the_cache_stays_within_its_bytes():
    cache = AnswerCache(max_bytes=2_000)
    for n in range(50):
        cache.put(n, Answer(b"x" * 300))
        assert cache.size_bytes <= 2_000
    assert cache.get(49) is not None and cache.get(0) is None
    cache.put("huge", Answer(b"x" * 5_000))  # larger than the whole cache: not kept
    assert cache.get("huge") is None and cache.get(49) is not None
