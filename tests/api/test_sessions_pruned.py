"""Expired and revoked sessions do not pile up in the ``sessions`` table (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from actorvid.accounts import Accounts
from actorvid.store.db import open_database


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _sessions(accounts: Accounts) -> int:
    with accounts.db.read() as conn:
        return int(conn.execute("SELECT count(*) FROM sessions").fetchone()[0])


def test_expired_sessions_are_deleted_at_start_and_on_a_later_login(tmp_path: Path) -> None:
    db = open_database(tmp_path / "actorvid.db")
    clock = Clock()
    try:
        accounts = Accounts(db, clock=clock, session_ttl=3600, access_token_ttl=60)
        accounts.create_user("ana", "ana@example.com", "pw-ana-secret")
        first = accounts.login("ana", "pw-ana-secret")
        accounts.mint_access_token(1, "asset:x")
        accounts.logout(accounts.login("ana", "pw-ana-secret").token)
        assert _sessions(accounts) == 3

        clock.now += timedelta(hours=2)  # the session and the token have expired
        accounts.login("ana", "pw-ana-secret")
        assert _sessions(accounts) == 1
        assert accounts.authenticate_session(first.token) is None

        clock.now += timedelta(hours=2)
        restarted = Accounts(db, clock=clock, session_ttl=3600)
        assert restarted.prune_sessions() == 1  # what create_context does at every start
        assert _sessions(restarted) == 0
    finally:
        db.close()
