"""Writes signed in by the session cookie refuse what another site's page can send (issue 14).

A page on another site can make the browser POST a form (urlencoded, multipart or text/plain)
with our cookie attached; it cannot set a JSON content type or hide its ``Origin`` without a
CORS preflight we would refuse. Real HTTP through waitress, real headers.
"""

from __future__ import annotations

import falcon.testing
import requests

from actorvid.app import build_app, create_context
from actorvid.config import Settings
from tests.conftest import ApiUser, LiveServer, make_user


def _cookie(live_server: LiveServer, user: ApiUser) -> dict[str, str]:
    login = live_server.post("/api/auth/login",
                             data={"username": user.username, "password": user.password})
    assert login.status_code == 200  # the login form itself stays a form (no cookie yet)
    return {"Cookie": f"access_token={login.cookies['access_token']}"}


def test_a_cross_site_form_post_with_the_cookie_is_refused(live_server: LiveServer,
                                                           user: ApiUser) -> None:
    cookie = _cookie(live_server, user)
    for content_type in ("application/x-www-form-urlencoded", "text/plain"):
        resp = live_server.post("/api/v3/clients", data="name=evil",
                                headers={**cookie, "Content-Type": content_type,
                                         "Origin": "https://evil.example"})
        assert resp.status_code == 415, resp.text
        assert "session cookie" in resp.json()["error"]
    resp = live_server.post("/api/v3/clients", json={"name": "evil"},
                            headers={**cookie, "Origin": "https://sub.evil.example"})
    assert resp.status_code == 403
    assert resp.json()["meta"]["code"] == "forbidden"
    listed = live_server.get("/api/v3/clients", headers=cookie).json()["data"]
    assert listed == []


def test_same_origin_json_with_the_cookie_and_api_keys_still_write(live_server: LiveServer,
                                                                   user: ApiUser) -> None:
    cookie = _cookie(live_server, user)
    host = live_server.url.removeprefix("http://")
    same = live_server.post("/api/v3/clients", json={"name": "Acme"},
                            headers={**cookie, "Origin": f"http://{host}"})
    assert same.status_code == 201, same.text
    no_origin = live_server.post("/api/v3/clients", json={"name": "Beta"}, headers=cookie)
    assert no_origin.status_code == 201
    # A key is never attached by a browser on its own: no Origin rules for it.
    keyed = requests.post(live_server.url + "/api/v3/clients", json={"name": "Gamma"},
                          headers={**user.headers, "Origin": "https://tool.example"},
                          timeout=30)
    assert keyed.status_code == 201


def test_an_origin_listed_in_cors_origins_may_write_with_the_cookie(settings: Settings) -> None:
    ctx = create_context(settings.with_overrides(cors_origins=("https://app.example",)),
                         bootstrap=False)
    try:
        user = make_user(ctx, "carol")
        client = falcon.testing.TestClient(build_app(ctx))
        login = client.simulate_post("/api/auth/login", json={"username": user.username,
                                                              "password": user.password})
        cookie = {"Cookie": f"access_token={login.cookies['access_token'].value}"}
        allowed = client.simulate_post("/api/v3/clients", json={"name": "Ok"}, headers={
            **cookie, "Origin": "https://app.example"})
        assert allowed.status_code == 201, allowed.text
        other = client.simulate_post("/api/v3/clients", json={"name": "No"}, headers={
            **cookie, "Origin": "https://evil.example"})
        assert other.status_code == 403
    finally:
        ctx.close()
