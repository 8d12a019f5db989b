"""After an import: old passwords and API keys work, then live on in our own forms."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import falcon.testing
import pytest

from actorvid.api.context import AppContext
from actorvid.app import build_app, create_context
from actorvid.config import Settings
from actorvid.legacy.importer import run_import
from actorvid.legacy_hashes import LegacyKeyGuard
from actorvid.security import hash_token
from tests.legacy.conftest import OLD_KEY, OLD_KEY_2, OLD_PASSWORD, OldDb


@pytest.fixture
def imported(old_db: OldDb, settings: Settings, tmp_path: Path) -> Iterator[AppContext]:
    run_import(old_db.path, settings.db_path, report_path=tmp_path / "r.json",
               stream=io.StringIO())
    context = create_context(settings, bootstrap=False)
    yield context
    context.close()


@pytest.fixture
def api(imported: AppContext) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(build_app(imported))


def one(ctx: AppContext, sql: str, params: dict[str, object]) -> sqlite3.Row | None:
    with ctx.db.read() as conn:
        row: sqlite3.Row | None = conn.execute(sql, params).fetchone()
        return row


def test_old_password_logs_in_and_becomes_scrypt(api: falcon.testing.TestClient,
                                                  imported: AppContext) -> None:
    wrong = api.simulate_post("/api/auth/login", json={"username": "alice",
                                                       "password": "nope"})
    assert wrong.status_code == 401
    stored = one(imported, "SELECT password_hash FROM users WHERE username = 'alice'", {})
    assert stored is not None and stored[0].startswith("$2b$")  # a failure changes nothing

    response = api.simulate_post("/api/auth/login", json={"username": "alice",
                                                          "password": OLD_PASSWORD})
    assert response.status_code == 200, response.text
    token = response.json["data"]["access_token"]
    stored = one(imported, "SELECT password_hash FROM users WHERE username = 'alice'", {})
    assert stored is not None and stored[0].startswith("scrypt$")
    me = api.simulate_get("/api/v3/clients", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200

    # The same password keeps working, now against the scrypt hash.
    again = api.simulate_post("/api/auth/login", json={"username": "alice",
                                                       "password": OLD_PASSWORD})
    assert again.status_code == 200


def test_old_api_key_works_and_moves_to_the_indexed_form(api: falcon.testing.TestClient,
                                                         imported: AppContext) -> None:
    assert one(imported, "SELECT id FROM api_keys WHERE key_hash = :h",
               {"h": hash_token(OLD_KEY)}) is None
    response = api.simulate_get("/api/v3/clients", headers={"X-API-Key": OLD_KEY})
    assert response.status_code == 200, response.text
    assert [c["name"] for c in response.json["data"]] == ["Acme"]

    moved = one(imported, "SELECT * FROM api_keys WHERE key_hash = :h",
                {"h": hash_token(OLD_KEY)})
    assert moved is not None and moved["user_id"] == 1 and moved["name"] == "ci"
    legacy = one(imported, "SELECT * FROM legacy_api_keys WHERE name = 'ci'", {})
    assert legacy is not None and legacy["migrated_at"] and legacy["api_key_id"] == moved["id"]

    # From now on the key is an O(1) lookup: no bcrypt check runs for it.
    checks = imported.accounts.legacy_keys.checks
    for _ in range(3):
        again = api.simulate_get("/api/v3/clients", headers={"X-API-Key": OLD_KEY})
        assert again.status_code == 200
    assert imported.accounts.legacy_keys.checks == checks

    # The other user's old key, as a Bearer credential, works too.
    bob = api.simulate_get("/api/v3/clients", headers={"Authorization": f"Bearer {OLD_KEY_2}"})
    assert bob.status_code == 200


def test_an_unknown_key_is_checked_once_then_cached(api: falcon.testing.TestClient,
                                                   imported: AppContext) -> None:
    bogus = "sk_" + "Z" * 43
    first = api.simulate_get("/api/v3/clients", headers={"X-API-Key": bogus})
    assert first.status_code == 401
    checks = imported.accounts.legacy_keys.checks
    assert checks == 2  # one bcrypt check per pending old key
    for _ in range(5):
        assert api.simulate_get("/api/v3/clients",
                                headers={"X-API-Key": bogus}).status_code == 401
    assert imported.accounts.legacy_keys.checks == checks
    # Keys not in the old sk_ format never reach bcrypt.
    assert api.simulate_get("/api/v3/clients",
                            headers={"X-API-Key": "nope"}).status_code == 401
    assert imported.accounts.legacy_keys.checks == checks


def test_bcrypt_checks_are_rate_limited() -> None:
    now = [100.0]
    guard = LegacyKeyGuard(rate=3, max_wait=0.0, monotonic=lambda: now[0])
    assert [guard.acquire() for _ in range(4)] == [True, True, True, False]
    now[0] += 1 / 3
    assert guard.acquire() and not guard.acquire()
    assert guard.checks == 4

    guard = LegacyKeyGuard(miss_ttl=10, max_misses=2, monotonic=lambda: now[0])
    guard.remember_miss("a")
    assert guard.recently_missed("a")
    now[0] += 11
    assert not guard.recently_missed("a")
    for key in ("b", "c", "d"):
        guard.remember_miss(key)
    assert not guard.recently_missed("b") and guard.recently_missed("d")


def test_an_exhausted_budget_refuses_without_caching(api: falcon.testing.TestClient,
                                                     imported: AppContext) -> None:
    imported.accounts.legacy_keys = LegacyKeyGuard(rate=1, max_wait=0.0)
    imported.accounts.legacy_keys.acquire()  # spend the only token
    refused = api.simulate_get("/api/v3/clients", headers={"X-API-Key": OLD_KEY})
    assert refused.status_code == 401
    assert not imported.accounts.legacy_keys.recently_missed(hash_token(OLD_KEY))
    imported.accounts.legacy_keys = LegacyKeyGuard()
    assert api.simulate_get("/api/v3/clients",
                            headers={"X-API-Key": OLD_KEY}).status_code == 200


def test_the_imported_video_streams_with_range(api: falcon.testing.TestClient,
                                               imported: AppContext, old_db: OldDb) -> None:
    # Serving needs no actor system: this context has runtime None.
    assert imported.runtime is None
    headers = {"X-API-Key": OLD_KEY}
    job = api.simulate_get("/api/v3/jobs/1", headers=headers)
    assert job.status_code == 200, job.text
    view = job.json["data"]
    assert view["status"] == "completed" and view["videoUrl"] == "/api/v3/videos/1/data"
    assert [s["id"] for s in view["scenes"]] == ["sc-1", "sc-2"]

    whole = api.simulate_get("/api/v3/videos/1/data", headers=headers)
    assert whole.status_code == 200 and whole.content == old_db.video_bytes
    size = len(old_db.video_bytes)
    part = api.simulate_get("/api/v3/videos/1/data",
                            headers={**headers, "Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-1099/{size}"
    assert part.content == old_db.video_bytes[100:1100]
    tail = api.simulate_get("/api/v3/videos/1/data", headers={**headers, "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == old_db.video_bytes[-10:]
    thumb = api.simulate_get("/api/v3/videos/1/thumbnail", headers=headers)
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"
