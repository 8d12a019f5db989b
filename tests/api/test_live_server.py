"""The real app under real waitress on loopback, as a new user would use it."""

from __future__ import annotations


def test_new_user_flow_over_http(live_server, user):
    headers = user.headers
    health = live_server.get("/health")
    assert health.status_code == 200
    created = live_server.post("/api/v3/clients", json={"name": "Acme"}, headers=headers)
    assert created.status_code == 201
    client_id = created.json()["data"]["id"]
    campaign = live_server.post("/api/v3/campaigns", json={
        "clientId": client_id, "name": "Launch", "goal": "Awareness"}, headers=headers)
    assert campaign.status_code == 201
    listed = live_server.get("/api/v3/campaigns", headers=headers).json()
    assert listed["meta"]["total"] == 1
    assert listed["data"][0]["name"] == "Launch"
    unauthorized = live_server.get("/api/v3/clients")
    assert unauthorized.status_code == 401
    assert unauthorized.json()["error"] == "Not authenticated. Login required."


def test_login_cookie_over_http(live_server, user):
    import requests

    session = requests.Session()
    resp = session.post(live_server.url + "/api/auth/login",
                        data={"username": user.username, "password": user.password}, timeout=30)
    assert resp.status_code == 200
    assert session.get(live_server.url + "/api/v3/clients", timeout=30).status_code == 200
    session.post(live_server.url + "/api/auth/logout", timeout=30)
    assert session.get(live_server.url + "/api/v3/clients", timeout=30).status_code == 401
