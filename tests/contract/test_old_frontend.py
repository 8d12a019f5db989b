"""The old frontend's requests, shaped as it sent them, and the fields it read.

Each test sends what the old client sent (its documented requests) and asserts the names,
casing and types it decoded. Every response is also checked against our OpenAPI description,
so the description and the wire cannot drift apart. Where we deliberately differ from the old
backend, the test name or a comment says so: real status codes on errors (the old one sent
200 with an error envelope), 201 on creates, jobs created asynchronously (poll GET /jobs/{id}).
"""

from __future__ import annotations

from typing import Any

import falcon.testing
import jsonschema
import pytest

from actorvid.api.openapi import build_description
from tests.conftest import ApiUser
from tests.jobs.conftest import Api, Server, offline, options, png  # noqa: F401 (fixtures)

ENVELOPE = {"data", "error", "meta"}


def conforms(doc: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    """``body`` matches the description's schema for this operation and status."""
    response = doc["paths"][path][method.lower()]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": doc["components"]})
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method} {path} {status}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5])


def is_error(resp: Any, status: int, message: str | None = None) -> dict[str, Any]:
    body = resp.json() if callable(resp.json) else resp.json
    assert resp.status_code == status, body
    assert set(body) == ENVELOPE and body["data"] is None
    assert isinstance(body["error"], str) and body["meta"]["timestamp"].endswith("Z")
    if message is not None:
        assert body["error"] == message
    return body


# --- API-only routes (no actors needed) -----------------------------------------------------


@pytest.fixture
def doc(app: falcon.App) -> dict[str, Any]:
    return build_description(app)


def test_errors_keep_the_envelope_and_old_sentences_with_real_status_codes(
        client: falcon.testing.TestClient, user: ApiUser, doc: dict[str, Any]) -> None:
    # Deliberate difference: the old backend answered these with HTTP 200.
    resp = client.simulate_get("/api/v3/clients/nope", headers=user.headers)
    body = is_error(resp, 404, "Client not found")
    assert body["meta"]["code"] == "not_found"
    conforms(doc, "/api/v3/clients/{client_id}", "GET", 404, body)
    resp = client.simulate_post("/api/v3/jobs/from-image-pairs", json={}, headers=user.headers)
    body = is_error(resp, 422)
    assert body["meta"]["details"][0]["loc"] == ["body", "campaignId"]
    unauth = client.simulate_get("/api/v3/clients")
    is_error(unauth, 401)
    assert unauth.headers["www-authenticate"] == "Bearer"
    is_error(client.simulate_get("/api/v3/no-such-route", headers=user.headers), 404)


def test_missing_campaign_id_keeps_the_old_sentence(client: falcon.testing.TestClient,
                                                     user: ApiUser) -> None:
    resp = client.simulate_post("/api/v3/jobs/from-image-pairs", json={}, headers=user.headers)
    is_error(resp, 422, "campaignId is required")


def test_login_form_sets_the_cookie_the_frontend_relies_on(
        client: falcon.testing.TestClient, user: ApiUser, doc: dict[str, Any]) -> None:
    resp = client.simulate_post("/api/auth/login", body=f"username={user.username}&password="
                                f"{user.password}", headers={
                                    "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 200, resp.text
    cookie = resp.cookies["access_token"]
    assert cookie.http_only and cookie.path == "/"
    # Deliberate difference: the body is enveloped and carries the token the docs promised.
    data = resp.json["data"]
    assert data["message"] == "Login successful" and data["username"] == user.username
    assert data["token_type"] == "bearer" and isinstance(data["expires_in"], int)
    conforms(doc, "/api/auth/login", "POST", 200, resp.json)
    listed = client.simulate_get("/api/v3/clients", cookies={"access_token": cookie.value})
    assert listed.status_code == 200
    bad = client.simulate_post("/api/auth/login", body="username=x&password=y", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    is_error(bad, 401, "Incorrect username or password")
    out = client.simulate_post("/api/auth/logout", cookies={"access_token": cookie.value})
    assert out.json["data"] == {"message": "Logout successful"}
    again = client.simulate_get("/api/v3/clients", cookies={"access_token": cookie.value})
    assert again.status_code == 401  # revoked, not merely forgotten by the browser


def test_api_keys_snake_case_shapes(client: falcon.testing.TestClient, user: ApiUser,
                                    doc: dict[str, Any]) -> None:
    created = client.simulate_post("/api/auth/api-keys", json={"name": "ci", "expires_days": 3},
                                   headers=user.headers)
    assert created.status_code == 201  # deliberate: 201 on creates
    conforms(doc, "/api/auth/api-keys", "POST", 201, created.json)
    key = created.json["data"]
    assert key["api_key"].startswith("sk_") and key["name"] == "ci"
    listed = client.simulate_get("/api/auth/api-keys", headers=user.headers).json["data"]
    conforms(doc, "/api/auth/api-keys", "GET", 200, {"data": listed, "error": None,
                                                     "meta": {"timestamp": "t",
                                                              "requestId": "r"}})
    for item in listed:
        assert isinstance(item["id"], int) and isinstance(item["is_active"], bool)
        assert {"name", "created_at", "last_used", "expires_at"} <= set(item)
    gone = client.simulate_delete(f"/api/auth/api-keys/{key['id']}", headers=user.headers)
    assert gone.json["data"] == {"message": "API key revoked successfully"}
    is_error(client.simulate_delete(f"/api/auth/api-keys/{key['id'] + 1000}",
                                    headers=user.headers), 404, "API key not found")


def test_api_key_id_beyond_sqlite_range_is_a_404(client: falcon.testing.TestClient,
                                                  user: ApiUser) -> None:
    resp = client.simulate_delete("/api/auth/api-keys/99999999999999999999",
                                  headers=user.headers)
    assert resp.status_code == 404


def test_clients_and_campaigns_shapes(client: falcon.testing.TestClient, user: ApiUser,
                                      doc: dict[str, Any]) -> None:
    h = user.headers
    created = client.simulate_post("/api/v3/clients", headers=h, json={
        "name": "Acme", "brandGuidelines": {"colors": ["#fff"]}, "metadata": {}})
    assert created.status_code == 201  # deliberate: 201 on creates (old: 200)
    conforms(doc, "/api/v3/clients", "POST", 201, created.json)
    c = created.json["data"]
    assert c["description"] == "" and c["homepage"] is None and c["metadata"] is None
    assert set(c["brandGuidelines"]) == {"colors", "fonts", "tone", "restrictions", "examples"}
    assert "userId" not in c
    listed = client.simulate_get("/api/v3/clients", headers=h, params={"limit": 10}).json
    conforms(doc, "/api/v3/clients", "GET", 200, listed)
    assert listed["meta"]["page"] == 1 and listed["meta"]["total"] == 1
    put = client.simulate_put(f"/api/v3/clients/{c['id']}", headers=h, json={"name": "Acme 2"})
    assert put.json["data"]["name"] == "Acme 2"
    stats = client.simulate_get(f"/api/v3/clients/{c['id']}/stats", headers=h).json["data"]
    assert isinstance(stats["campaignCount"], int) and isinstance(stats["videoCount"], int)
    assert isinstance(stats["totalSpend"], float)

    camp = client.simulate_post("/api/v3/campaigns", headers=h, json={
        "clientId": c["id"], "name": "Launch", "goal": "Sales"})
    assert camp.status_code == 201
    conforms(doc, "/api/v3/campaigns", "POST", 201, camp.json)
    k = camp.json["data"]
    assert k["status"] == "draft" and k["clientId"] == c["id"] and k["productUrl"] is None
    listed = client.simulate_get("/api/v3/campaigns", headers=h,
                                 params={"client_id": c["id"]}).json
    conforms(doc, "/api/v3/campaigns", "GET", 200, listed)
    assert [x["id"] for x in listed["data"]] == [k["id"]]
    cstats = client.simulate_get(f"/api/v3/campaigns/{k['id']}/stats", headers=h).json["data"]
    assert set(cstats) >= {"videoCount", "totalSpend", "avgCost"}
    assert client.simulate_delete(f"/api/v3/campaigns/{k['id']}", headers=h).json["data"] == {
        "message": "Campaign deleted successfully"}
    assert client.simulate_delete(f"/api/v3/clients/{c['id']}", headers=h).json["data"] == {
        "message": "Client deleted successfully"}


def test_asset_upload_with_query_metadata_as_the_old_client_sent_it(
        client: falcon.testing.TestClient, user: ApiUser, doc: dict[str, Any]) -> None:
    boundary = "oldclient"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\""
            f"\r\nContent-Type: image/png\r\n\r\n").encode() + png("red") + (
        f"\r\n--{boundary}--\r\n").encode()
    resp = client.simulate_post("/api/v3/assets", body=body, headers={
        **user.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        params={"name": "Red", "type": "image", "tags": '["first_frame"]'})
    assert resp.status_code == 201, resp.text  # deliberate: 201
    conforms(doc, "/api/v3/assets", "POST", 201, resp.json)
    a = resp.json["data"]
    assert list(a)[:13] == ["id", "userId", "clientId", "campaignId", "name", "url", "size",
                            "uploadedAt", "tags", "thumbnailBlobId", "sourceUrl", "type",
                            "format"]
    assert a["userId"] == str(user.id) and a["name"] == "Red" and a["tags"] == ["first_frame"]
    assert a["type"] == "image" and a["format"] == "png"
    assert (a["width"], a["height"]) == (320, 240)
    assert a["url"] == f"/api/v3/assets/{a['id']}/data"
    data = client.simulate_get(a["url"], headers=user.headers)
    assert data.status_code == 200 and data.content == png("red")
    listed = client.simulate_get("/api/v3/assets", headers=user.headers,
                                 params={"asset_type": "image"}).json
    conforms(doc, "/api/v3/assets", "GET", 200, listed)
    assert listed["meta"]["total"] == 1
    got = client.simulate_get(f"/api/v3/assets/{a['id']}", headers=user.headers)
    conforms(doc, "/api/v3/assets/{asset_id}", "GET", 200, got.json)
    gone = client.simulate_delete(f"/api/v3/assets/{a['id']}", headers=user.headers)
    assert gone.json["data"] == {"message": "Asset deleted successfully"}


# --- routes that need real jobs -------------------------------------------------------------


def _doc(api: Api) -> dict[str, Any]:
    return api.get("/api/openapi.json").json()


def _checked(api: Api, doc: dict[str, Any], template: str, path: str, status: int = 200
             ) -> Any:
    resp = api.get(path)
    assert resp.status_code == status, resp.text
    conforms(doc, template, "GET", status, resp.json())
    return resp.json()["data"]


def test_image_pair_job_as_the_old_gallery_reads_it(offline: Server) -> None:  # noqa: F811
    api = offline.api
    doc = _doc(api)
    campaign = api.campaign()
    api.images(campaign["id"], 2)
    created = api.post("/api/v3/jobs/from-image-pairs", json={
        "campaignId": campaign["id"], "numPairs": 1, "clipDuration": 4, "autoApprove": True})
    # Deliberate: 201 and asynchronous (the old backend ran selection before answering 200).
    assert created.status_code == 201, created.text
    conforms(doc, "/api/v3/jobs/from-image-pairs", "POST", 201, created.json())
    started = created.json()["data"]
    assert isinstance(started["jobId"], str) and started["jobId"].isdigit()  # string here
    assert started["campaignId"] == campaign["id"] and started["totalAssets"] == 2
    job_id = started["jobId"]
    api.wait_status(job_id, "completed", timeout=120)

    job = _checked(api, doc, "/api/v3/jobs/{job_id}", f"/api/v3/jobs/{job_id}")
    assert job["id"] == job_id  # a string in GET /jobs/{id}, as the old backend sent it
    assert job["status"] == "completed" and isinstance(job["progress"], dict)
    assert job["videoUrl"] == f"/api/v3/videos/{job_id}/data"
    assert isinstance(job["estimatedCost"], float) and isinstance(job["actualCost"], float)
    for scene in job["scenes"]:
        assert isinstance(scene["id"], str) and scene["jobId"] == int(job_id)  # int here
        assert isinstance(scene["sceneNumber"], int) and isinstance(scene["duration"], float)
        assert isinstance(scene["assets"], list) and isinstance(scene["metadata"], dict)

    subs = _checked(api, doc, "/api/v3/jobs/{job_id}/sub-jobs",
                    f"/api/v3/jobs/{job_id}/sub-jobs")
    assert subs["summary"]["total"] == 1 and subs["summary"]["completed"] == 1
    sub = subs["subJobs"][0]
    assert sub["jobId"] == int(job_id) and sub["subJobNumber"] == 1
    assert isinstance(sub["progress"], float) and sub["status"] == "completed"
    assert sub["videoUrl"] == f"/api/v3/videos/{job_id}/clips/clip_001.mp4"

    scenes = _checked(api, doc, "/api/v3/jobs/{job_id}/scenes", f"/api/v3/jobs/{job_id}/scenes")
    assert len(scenes["scenes"]) == 1  # wrapped in {"scenes": [...]}, not a bare array

    gallery = _checked(api, doc, "/api/v3/ai-videos", "/api/v3/ai-videos")
    assert gallery["total"] == 1
    # The Elm decoder: every one of these non-null, with these JSON types.
    video = gallery["videos"][0]
    for name in ("id", "modelId", "videoUrl", "thumbnailUrl", "status", "errorMessage",
                 "createdAt", "completedAt", "prompt"):
        assert isinstance(video[name], str), name
    for name in ("jobId", "subJobNumber"):
        assert isinstance(video[name], int) and not isinstance(video[name], bool), name
    for name in ("durationSeconds", "progress"):
        assert isinstance(video[name], float), name
    assert video["jobId"] == int(job_id)

    combined = api.get(f"/api/v3/videos/{job_id}/combined", headers={"Range": "bytes=0-99"})
    assert combined.status_code == 206 and combined.headers["Content-Type"] == "video/mp4"
    clip = api.get(f"/api/v3/videos/{job_id}/clips/clip_001.mp4")
    assert clip.status_code == 200 and clip.content[4:8] == b"ftyp"
    finished = _checked(api, doc, "/api/v3/generated-videos", "/api/v3/generated-videos")
    assert [v["jobId"] for v in finished] == [int(job_id)]
    # Deliberate: cancelling a finished job is a 409 (the old backend overwrote the status).
    again = api.post(f"/api/v3/jobs/{job_id}/actions", json={"action": "cancel"})
    assert is_error(again, 409)


def test_storyboard_editing_and_actions_as_the_old_client_sent_them(
        offline: Server) -> None:  # noqa: F811
    api = offline.api
    doc = _doc(api)
    campaign = api.campaign()
    api.images(campaign["id"], 2)
    job_id = api.post("/api/v3/jobs/from-image-pairs", json={
        "campaignId": campaign["id"], "numPairs": 1, "clipDuration": 4}).json()["data"]["jobId"]
    api.wait_status(job_id, "storyboard_ready", timeout=60)
    scene = _checked(api, doc, "/api/v3/jobs/{job_id}/scenes",
                     f"/api/v3/jobs/{job_id}/scenes")["scenes"][0]
    one = _checked(api, doc, "/api/v3/jobs/{job_id}/scenes/{scene_id}",
                   f"/api/v3/jobs/{job_id}/scenes/{scene['id']}")
    assert one["id"] == scene["id"]
    edited = api.call("PUT", f"/api/v3/jobs/{job_id}/scenes/{scene['id']}",
                      json={"description": "Sunset over the pool"})
    assert edited.status_code == 200, edited.text
    conforms(doc, "/api/v3/jobs/{job_id}/scenes/{scene_id}", "PUT", 200, edited.json())
    assert edited.json()["data"]["description"] == "Sunset over the pool"
    regen = api.post(f"/api/v3/jobs/{job_id}/actions", json={
        "action": "regenerate_scene", "payload": {"sceneId": scene["id"], "feedback": "warmer"}})
    assert regen.status_code == 200, regen.text
    conforms(doc, "/api/v3/jobs/{job_id}/actions", "POST", 200, regen.json())
    assert regen.json()["data"]["message"] == "Scene regenerated successfully"
    missing = api.post(f"/api/v3/jobs/{job_id}/actions", json={
        "action": "regenerate_scene", "payload": {}})
    is_error(missing, 422, "sceneId is required in payload for REGENERATE_SCENE action")
    approved = api.post(f"/api/v3/jobs/{job_id}/actions", json={"action": "approve"})
    assert approved.json()["data"] == {"message": "Storyboard approved, video rendering started"}
    is_error(api.post(f"/api/v3/jobs/{job_id}/approve"), 409)  # deliberate: twice is a 409
    api.wait_status(job_id, "completed", timeout=120)
