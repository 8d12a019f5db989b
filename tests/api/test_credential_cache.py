"""Proven credentials are cached in the process, and every way they end still ends them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from actorvid import security
from actorvid.accounts import Accounts
from actorvid.credcache import CredentialCache, Proven
from actorvid.store.db import open_database
from actorvid.store.users import User
from tests.conftest import TEST_SCRYPT


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _name(user: User | None) -> str | None:
    return user.username if user is not None else None


def _accounts(tmp_path: Path, clock: Clock) -> Accounts:
    db = open_database(tmp_path / "actorvid.db")
    accounts = Accounts(db, clock=clock, session_ttl=3600, access_token_ttl=60,
                        password_params=security.ScryptParams.parse(TEST_SCRYPT))
    accounts.create_user("ana", "ana@example.com", "pw-ana-secret")
    return accounts


def _forget_rows(accounts: Accounts) -> None:
    """Delete every credential row behind the cache's back (nothing in the app does this):
    what still authenticates afterwards came from the cache."""
    with accounts.db.write() as conn:
        conn.execute("DELETE FROM api_keys")
        conn.execute("DELETE FROM sessions")


def test_a_proven_key_is_answered_from_the_cache_until_its_ttl(tmp_path):
    clock = Clock()
    accounts = _accounts(tmp_path, clock)
    try:
        key = accounts.create_api_key(1, "k").key
        login = accounts.login("ana", "pw-ana-secret")
        assert _name(accounts.authenticate_api_key(key)) == "ana"
        assert _name(accounts.authenticate_session(login.token)) == "ana"
        _forget_rows(accounts)
        assert _name(accounts.authenticate_api_key(key)) == "ana"
        assert _name(accounts.authenticate_session(login.token)) == "ana"
        clock.now += accounts.credentials.ttl
        assert accounts.authenticate_api_key(key) is None
        assert accounts.authenticate_session(login.token) is None
    finally:
        accounts.db.close()


def test_expiry_ends_a_cached_credential_before_the_ttl(tmp_path):
    clock = Clock()
    accounts = _accounts(tmp_path, clock)
    try:
        token = accounts.mint_access_token(1, "asset:a", ttl=10)
        assert _name(accounts.authenticate_access_token(token, "asset:a")) == "ana"
        assert accounts.authenticate_access_token(token, "asset:b") is None
        clock.now += timedelta(seconds=10)
        assert accounts.authenticate_access_token(token, "asset:a") is None
    finally:
        accounts.db.close()


def test_revoke_and_logout_end_cached_credentials_at_once(client, ctx, user):
    login = client.simulate_post("/api/auth/login", json={
        "username": user.username, "password": user.password}).json["data"]["access_token"]
    bearer = {"Authorization": f"Bearer {login}"}
    assert client.simulate_get("/api/v3/clients", headers=bearer).status_code == 200
    assert client.simulate_get("/api/v3/clients", headers=user.headers).status_code == 200
    assert len(ctx.accounts.credentials) == 2

    assert client.simulate_post("/api/auth/logout", headers=bearer).status_code == 200
    assert client.simulate_get("/api/v3/clients", headers=bearer).status_code == 401
    keys = client.simulate_get("/api/auth/api-keys", headers=user.headers).json["data"]
    assert client.simulate_delete(f"/api/auth/api-keys/{keys[0]['id']}",
                                  headers=user.headers).status_code == 200
    refused = client.simulate_get("/api/v3/clients", headers=user.headers)
    assert refused.status_code == 401 and refused.json["meta"]["code"] == "unauthorized"


def test_the_cache_is_bounded_least_recently_used_first():
    cache = CredentialCache(ttl=timedelta(minutes=1), max_entries=2)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    user = User(1, "ana", "ana@example.com", True, False, "2026-01-01T00:00:00.000Z")
    far = now + timedelta(days=1)
    for name in ("a", "b"):
        cache.put("session", name, Proven(user, far), now)
    assert cache.get("session", "a", now) is not None  # "b" is now the least recently used
    cache.put("session", "c", Proven(user, far), now)
    assert len(cache) == 2
    assert cache.get("session", "b", now) is None
    assert cache.get("session", "a", now) is not None
