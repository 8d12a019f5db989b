"""Clients and campaigns: CRUD, validation, ownership, pagination, cascades."""

from __future__ import annotations

import pytest


def new_client(client, user, **fields):
    body = {"name": "Acme", **fields}
    resp = client.simulate_post("/api/v3/clients", json=body, headers=user.headers)
    assert resp.status_code == 201, resp.json
    return resp.json["data"]


def new_campaign(client, user, client_id, **fields):
    body = {"clientId": client_id, "name": "Spring", "goal": "Sell villas", **fields}
    resp = client.simulate_post("/api/v3/campaigns", json=body, headers=user.headers)
    assert resp.status_code == 201, resp.json
    return resp.json["data"]


def test_client_crud(client, user):
    created = new_client(client, user, description="Hotels", homepage="https://acme.test",
                         brandGuidelines={"colors": ["#fff"], "tone": "warm"},
                         metadata={"tier": "gold"})
    assert created["brandGuidelines"] == {"colors": ["#fff"], "fonts": None, "tone": "warm",
                                          "restrictions": None, "examples": None}
    assert created["createdAt"].endswith("Z")
    assert set(created) == {"id", "name", "description", "homepage", "brandGuidelines",
                            "metadata", "createdAt", "updatedAt"}
    got = client.simulate_get(f"/api/v3/clients/{created['id']}", headers=user.headers)
    assert got.json["data"] == created

    updated = client.simulate_put(f"/api/v3/clients/{created['id']}",
                                  json={"name": "Acme Hotels", "homepage": None},
                                  headers=user.headers)
    assert updated.status_code == 200
    assert updated.json["data"]["name"] == "Acme Hotels"
    assert updated.json["data"]["homepage"] is None  # explicit null clears
    assert updated.json["data"]["description"] == "Hotels"  # absent keeps

    deleted = client.simulate_delete(f"/api/v3/clients/{created['id']}", headers=user.headers)
    assert deleted.json["data"] == {"message": "Client deleted successfully"}
    gone = client.simulate_get(f"/api/v3/clients/{created['id']}", headers=user.headers)
    assert gone.status_code == 404
    assert gone.json["error"] == "Client not found"


def test_empty_put_leaves_the_client_unchanged(client, user):
    created = new_client(client, user)
    resp = client.simulate_put(f"/api/v3/clients/{created['id']}", json={},
                               headers=user.headers)
    assert resp.status_code == 200
    assert resp.json["data"]["name"] == "Acme"


def test_campaign_crud_and_client_campaigns(client, user):
    acme = new_client(client, user)
    campaign = new_campaign(client, user, acme["id"], brief={"audience": "families"},
                            productUrl="https://acme.test/villa")
    assert campaign["status"] == "draft"
    assert campaign["clientId"] == acme["id"]
    assert campaign["brief"] == {"audience": "families"}
    updated = client.simulate_put(f"/api/v3/campaigns/{campaign['id']}",
                                  json={"status": "active", "goal": "More bookings"},
                                  headers=user.headers).json["data"]
    assert (updated["status"], updated["goal"]) == ("active", "More bookings")
    listed = client.simulate_get(f"/api/v3/clients/{acme['id']}/campaigns",
                                 headers=user.headers)
    assert [c["id"] for c in listed.json["data"]] == [campaign["id"]]
    filtered = client.simulate_get("/api/v3/campaigns", params={"client_id": acme["id"]},
                                   headers=user.headers)
    assert filtered.json["meta"]["total"] == 1
    deleted = client.simulate_delete(f"/api/v3/campaigns/{campaign['id']}",
                                     headers=user.headers)
    assert deleted.json["data"] == {"message": "Campaign deleted successfully"}
    assert client.simulate_get(f"/api/v3/campaigns/{campaign['id']}",
                               headers=user.headers).status_code == 404


def test_stats(client, user):
    acme = new_client(client, user)
    campaign = new_campaign(client, user, acme["id"])
    stats = client.simulate_get(f"/api/v3/clients/{acme['id']}/stats", headers=user.headers)
    assert stats.json["data"] == {"campaignCount": 1, "videoCount": 0, "totalSpend": 0.0}
    cstats = client.simulate_get(f"/api/v3/campaigns/{campaign['id']}/stats",
                                 headers=user.headers)
    assert cstats.json["data"] == {"videoCount": 0, "totalSpend": 0.0, "avgCost": 0.0}


def test_deleting_a_client_cascades_to_its_campaigns(client, ctx, user):
    acme = new_client(client, user)
    campaign = new_campaign(client, user, acme["id"])
    client.simulate_delete(f"/api/v3/clients/{acme['id']}", headers=user.headers)
    with ctx.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM campaigns WHERE id = ?",
                            (campaign["id"],)).fetchone()[0] == 0


def test_campaign_client_must_exist_and_be_the_callers(client, user, other_user):
    theirs = new_client(client, other_user)
    for client_id in ("no-such-client", theirs["id"]):
        resp = client.simulate_post("/api/v3/campaigns", json={
            "clientId": client_id, "name": "X", "goal": "Y"}, headers=user.headers)
        assert resp.status_code == 422
        assert resp.json["meta"]["details"][0]["loc"] == ["body", "clientId"]


def test_other_users_rows_are_404(client, user, other_user):
    theirs = new_client(client, other_user)
    their_campaign = new_campaign(client, other_user, theirs["id"])
    for method, path in [
        ("GET", f"/api/v3/clients/{theirs['id']}"),
        ("PUT", f"/api/v3/clients/{theirs['id']}"),
        ("DELETE", f"/api/v3/clients/{theirs['id']}"),
        ("GET", f"/api/v3/clients/{theirs['id']}/stats"),
        ("GET", f"/api/v3/clients/{theirs['id']}/campaigns"),
        ("GET", f"/api/v3/campaigns/{their_campaign['id']}"),
        ("PUT", f"/api/v3/campaigns/{their_campaign['id']}"),
        ("DELETE", f"/api/v3/campaigns/{their_campaign['id']}"),
        ("GET", f"/api/v3/campaigns/{their_campaign['id']}/stats"),
    ]:
        resp = client.simulate_request(method, path, json={"name": "hijack"},
                                       headers=user.headers)
        assert resp.status_code == 404, (method, path)
    assert client.simulate_get("/api/v3/clients", headers=user.headers).json["meta"]["total"] == 0
    # Nothing changed for the owner.
    still = client.simulate_get(f"/api/v3/clients/{theirs['id']}", headers=other_user.headers)
    assert still.json["data"]["name"] == "Acme"


@pytest.mark.parametrize("body,locs", [
    ({}, [["body", "name"]]),
    ({"name": ""}, [["body", "name"]]),
    ({"name": 42}, [["body", "name"]]),
    ({"name": "A", "brandGuidelines": {"colors": "red"}}, [["body", "brandGuidelines", "colors"]]),
    ({"name": "A", "metadata": [1]}, [["body", "metadata"]]),
    ([1, 2], [["body"]]),
])
def test_client_validation_lists_every_bad_field(client, user, body, locs):
    resp = client.simulate_post("/api/v3/clients", json=body, headers=user.headers)
    assert resp.status_code == 422
    assert resp.json["meta"]["code"] == "validation_failed"
    assert [d["loc"] for d in resp.json["meta"]["details"]] == locs
    assert client.simulate_get("/api/v3/clients", headers=user.headers).json["meta"]["total"] == 0


def test_campaign_unknown_status_and_wrong_types(client, user):
    acme = new_client(client, user)
    resp = client.simulate_post("/api/v3/campaigns", json={
        "clientId": acme["id"], "name": 1, "goal": None, "status": "live"}, headers=user.headers)
    assert resp.status_code == 422
    details = {tuple(d["loc"]): d["type"] for d in resp.json["meta"]["details"]}
    assert details == {("body", "name"): "string_type", ("body", "goal"): "null",
                       ("body", "status"): "enum"}
    campaign = new_campaign(client, user, acme["id"])
    bad = client.simulate_put(f"/api/v3/campaigns/{campaign['id']}", json={"status": "paused"},
                              headers=user.headers)
    assert bad.status_code == 422
    bad_filter = client.simulate_get("/api/v3/campaigns", params={"status": "paused"},
                                     headers=user.headers)
    assert bad_filter.status_code == 422


def test_malformed_json_is_400_and_changes_nothing(client, user):
    resp = client.simulate_post("/api/v3/clients", body='{"name": ',
                                headers={**user.headers, "Content-Type": "application/json"})
    assert resp.status_code == 400
    assert resp.json["meta"]["code"] == "malformed_json"
    assert client.simulate_get("/api/v3/clients", headers=user.headers).json["meta"]["total"] == 0


def test_oversize_json_is_413(client, user):
    resp = client.simulate_post("/api/v3/clients", body='{"name": "' + "a" * 3_000_000 + '"}',
                                headers={**user.headers, "Content-Type": "application/json"})
    assert resp.status_code == 413
    assert resp.json["meta"]["code"] == "payload_too_large"


def test_pagination_true_total_and_edges(client, user):
    ids = [new_client(client, user, name=f"C{i}")["id"] for i in range(5)]
    page = client.simulate_get("/api/v3/clients", params={"limit": 2, "offset": 2},
                               headers=user.headers).json
    assert page["meta"]["total"] == 5
    assert page["meta"]["page"] == 2
    assert len(page["data"]) == 2
    everything = client.simulate_get("/api/v3/clients", params={"limit": 1000},
                                     headers=user.headers).json["data"]
    assert sorted(c["id"] for c in everything) == sorted(ids)
    past_end = client.simulate_get("/api/v3/clients", params={"offset": 10},
                                   headers=user.headers).json
    assert past_end["data"] == [] and past_end["meta"]["total"] == 5
    for params in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "ten"}):
        resp = client.simulate_get("/api/v3/clients", params=params, headers=user.headers)
        assert resp.status_code == 422, params
        assert resp.json["meta"]["details"][0]["loc"][0] == "query"


def test_unknown_routes_and_methods_in_the_envelope(client, user):
    resp = client.simulate_get("/api/v3/nothing-here", headers=user.headers)
    assert resp.status_code == 404
    assert resp.json["meta"]["code"] == "not_found"
    resp = client.simulate_get("/api/v3/nothing-here")
    assert resp.status_code == 404
    resp = client.simulate_delete("/api/v3/clients", headers=user.headers)
    assert resp.status_code == 405
    assert resp.json["meta"]["code"] == "method_not_allowed"
    assert "GET" in resp.headers["allow"]


def test_request_id_is_echoed(client, user):
    resp = client.simulate_get("/api/v3/clients",
                               headers={**user.headers, "X-Request-ID": "abc-123"})
    assert resp.headers["x-request-id"] == "abc-123"
    assert resp.json["meta"]["requestId"] == "abc-123"
    hostile = client.simulate_get("/api/v3/clients",
                                  headers={**user.headers, "X-Request-ID": "<script>"})
    assert hostile.headers["x-request-id"] != "<script>"
