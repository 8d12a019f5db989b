"""Credentials: API keys, sessions (bearer and cookie), access tokens, revocation, admins."""

from __future__ import annotations

import os

import pytest

from tests.conftest import make_user


def test_health_needs_no_auth(client):
    resp = client.simulate_get("/health")
    assert resp.status_code == 200
    assert resp.json["data"]["status"] == "healthy"
    assert resp.json["data"]["database"] == "ok"


@pytest.mark.parametrize("headers", [
    {},
    {"X-API-Key": "sk_wrong"},
    {"Authorization": "Bearer not-a-token"},
    {"Authorization": "Bearer sk_wrong"},
    {"Cookie": "access_token=forged"},
])
def test_missing_or_wrong_credentials_are_401_in_the_envelope(client, user, headers):
    resp = client.simulate_get("/api/v3/clients", headers=headers)
    assert resp.status_code == 401
    body = resp.json
    assert set(body) == {"data", "error", "meta"}
    assert body["data"] is None
    assert body["meta"]["code"] == "unauthorized"
    assert body["meta"]["requestId"]
    assert resp.headers["www-authenticate"] == "Bearer"


def test_api_key_in_header_and_as_bearer(client, user):
    assert client.simulate_get("/api/v3/clients", headers=user.headers).status_code == 200
    bearer = {"Authorization": f"Bearer {user.key}"}
    assert client.simulate_get("/api/v3/clients", headers=bearer).status_code == 200


def test_login_with_form_sets_cookie_and_returns_token(client, user):
    resp = client.simulate_post(
        "/api/auth/login",
        body=f"username={user.username}&password={user.password}",
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 200
    data = resp.json["data"]
    assert data["token_type"] == "bearer"
    assert data["expires_in"] > 0
    cookie = resp.cookies["access_token"]
    assert cookie.value == data["access_token"]
    assert cookie.http_only
    assert cookie.same_site.lower() == "lax"
    # The token works as a bearer token and as a cookie.
    bearer = {"Authorization": f"Bearer {data['access_token']}"}
    assert client.simulate_get("/api/v3/clients", headers=bearer).status_code == 200
    via_cookie = {"Cookie": f"access_token={data['access_token']}"}
    assert client.simulate_get("/api/v3/clients", headers=via_cookie).status_code == 200


def test_login_with_json(client, user):
    resp = client.simulate_post("/api/auth/login",
                                json={"username": user.username, "password": user.password})
    assert resp.status_code == 200
    assert resp.json["data"]["username"] == user.username


@pytest.mark.parametrize("body", [
    {"username": "alice", "password": "wrong"},
    {"username": "nobody", "password": "whatever"},
])
def test_login_refuses_bad_credentials(client, user, body):
    resp = client.simulate_post("/api/auth/login", json=body)
    assert resp.status_code == 401
    assert resp.json["error"] == "Incorrect username or password"
    assert "access_token" not in resp.cookies


def test_login_validates_its_body(client):
    resp = client.simulate_post("/api/auth/login", json={"username": 5})
    assert resp.status_code == 422
    locs = [d["loc"] for d in resp.json["meta"]["details"]]
    assert ["body", "username"] in locs and ["body", "password"] in locs


def test_logout_revokes_the_session(client, user):
    token = client.simulate_post("/api/auth/login", json={
        "username": user.username, "password": user.password}).json["data"]["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    resp = client.simulate_post("/api/auth/logout", headers=bearer)
    assert resp.status_code == 200
    assert client.simulate_get("/api/v3/clients", headers=bearer).status_code == 401


def test_api_keys_create_list_revoke(client, user):
    created = client.simulate_post("/api/auth/api-keys", json={"name": "ci"},
                                   headers=user.headers)
    assert created.status_code == 201
    new_key = created.json["data"]["api_key"]
    assert new_key.startswith("sk_") and len(new_key) > 40
    key_id = created.json["data"]["id"]
    listed = client.simulate_get("/api/auth/api-keys", headers=user.headers).json["data"]
    assert {k["name"] for k in listed} == {"test", "ci"}
    assert all("api_key" not in k for k in listed)  # shown once only
    new_headers = {"X-API-Key": new_key}
    assert client.simulate_get("/api/v3/clients", headers=new_headers).status_code == 200
    revoked = client.simulate_delete(f"/api/auth/api-keys/{key_id}", headers=user.headers)
    assert revoked.status_code == 200
    assert client.simulate_get("/api/v3/clients", headers=new_headers).status_code == 401


def test_cannot_revoke_someone_elses_key(client, ctx, user, other_user):
    others = client.simulate_get("/api/auth/api-keys", headers=other_user.headers).json["data"]
    resp = client.simulate_delete(f"/api/auth/api-keys/{others[0]['id']}", headers=user.headers)
    assert resp.status_code == 404
    assert client.simulate_get("/api/v3/clients", headers=other_user.headers).status_code == 200


def test_expired_api_key_is_refused(client, ctx, user):
    new = ctx.accounts.create_api_key(user.id, "short", expires_days=1)
    with ctx.db.write() as conn:
        conn.execute("UPDATE api_keys SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = ?",
                     (new.record.id,))
    resp = client.simulate_get("/api/v3/clients", headers={"X-API-Key": new.key})
    assert resp.status_code == 401


def test_inactive_user_is_forbidden(client, ctx, user):
    with ctx.db.write() as conn:
        conn.execute("UPDATE users SET is_active = 0 WHERE id = ?", (user.id,))
    resp = client.simulate_get("/api/v3/clients", headers=user.headers)
    assert resp.status_code == 403
    assert resp.json["meta"]["code"] == "forbidden"


def test_keys_are_stored_hashed(ctx, user):
    with ctx.db.read() as conn:
        rows = conn.execute("SELECT key_hash FROM api_keys").fetchall()
        hashes = [r[0] for r in rows]
        passwords = [r[0] for r in conn.execute("SELECT password_hash FROM users")]
    assert user.key not in hashes and all(len(h) == 64 for h in hashes)
    assert all(p.startswith("scrypt$") for p in passwords)


def test_first_start_creates_admin_with_key_file(settings):
    from actorvid.app import create_context

    ctx = create_context(settings)
    try:
        path = settings.data_dir / "actorvid.db.admin-api-key.txt"
        assert settings.admin_key_file == path
        key = path.read_text().strip()
        assert key.startswith("sk_")
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
        admin = ctx.accounts.authenticate_api_key(key)
        assert admin is not None and admin.is_admin
    finally:
        ctx.db.close()
    # A second start does not create another admin or rewrite the key.
    ctx = create_context(settings)
    try:
        with ctx.db.read() as conn:
            assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 1
        assert path.read_text().strip() == key
    finally:
        ctx.db.close()


def test_two_databases_in_one_folder_keep_their_own_admin_key(settings, capfd):
    from actorvid.app import create_context

    keys = {}
    for name in ("a.db", "b.db"):
        each = settings.with_overrides(db_path=settings.data_dir / name)
        ctx = create_context(each)
        try:
            keys[name] = each.admin_key_file.read_text().strip()
            admin = ctx.accounts.authenticate_api_key(keys[name])
            assert admin is not None and admin.is_admin
        finally:
            ctx.db.close()
    assert keys["a.db"] != keys["b.db"]
    assert sorted(p.name for p in settings.data_dir.glob("*.admin-api-key.txt")) == [
        "a.db.admin-api-key.txt", "b.db.admin-api-key.txt"]
    assert "b.db.admin-api-key.txt; keep it out of version control" in capfd.readouterr().err


def test_admin_sees_every_users_rows(client, ctx, user, admin):
    created = client.simulate_post("/api/v3/clients", json={"name": "Mine"},
                                   headers=user.headers).json["data"]
    assert client.simulate_get(f"/api/v3/clients/{created['id']}",
                               headers=admin.headers).status_code == 200
    third = make_user(ctx, "carol")
    assert client.simulate_get(f"/api/v3/clients/{created['id']}",
                               headers=third.headers).status_code == 404
