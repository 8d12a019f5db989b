"""Guessing passwords and probing usernames (issue 14).

Throttling goes through real HTTP (waitress on loopback), timing through ``Accounts.login``
itself, where the hashing that gave unknown users away happens.
"""

from __future__ import annotations

import statistics
import time

import pytest

from actorvid.api.context import AppContext
from actorvid.errors import Unauthorized
from actorvid.security import RECOMMENDED_SCRYPT, ScryptParams, hash_password, needs_rehash
from actorvid.store import users as user_store
from tests.conftest import TEST_SCRYPT, ApiUser, LiveServer


def _login(live_server: LiveServer, username: str, password: str) -> tuple[int, str | None]:
    resp = live_server.post("/api/auth/login", json={"username": username, "password": password})
    return resp.status_code, resp.headers.get("Retry-After")


def test_twenty_wrong_passwords_back_off_with_429(live_server: LiveServer,
                                                  user: ApiUser) -> None:
    answers = [_login(live_server, user.username, f"guess-{i}") for i in range(20)]
    statuses = [status for status, _ in answers]
    assert statuses[:5] == [401] * 5  # a few typos are free
    # After that each failure doubles the wait, so whatever the machine's speed the last
    # guesses land inside a backoff and are refused unchecked.
    assert statuses[-1] == 429 and 429 in statuses[5:8]
    retry_after = answers[-1][1]
    assert retry_after is not None and int(retry_after) >= 1
    # Even the right password waits: a correct guess must not be told apart while locked.
    assert _login(live_server, user.username, user.password)[0] == 429


def test_a_success_resets_the_count(live_server: LiveServer, user: ApiUser) -> None:
    for i in range(4):
        assert _login(live_server, user.username, f"typo-{i}")[0] == 401
    assert _login(live_server, user.username, user.password)[0] == 200
    assert [_login(live_server, user.username, f"again-{i}")[0] for i in range(4)] == [401] * 4


def test_one_address_trying_many_usernames_backs_off(live_server: LiveServer) -> None:
    statuses = [_login(live_server, f"nobody{i}", "pw")[0] for i in range(24)]
    assert statuses[:20] == [401] * 20
    assert statuses[-1] == 429


def _seconds(ctx: AppContext, username: str) -> float:
    started = time.perf_counter()
    with pytest.raises(Unauthorized):
        ctx.accounts.login(username, "wrong-password")
    return time.perf_counter() - started


def test_an_unknown_username_costs_what_a_wrong_password_costs(ctx: AppContext,
                                                              user: ApiUser) -> None:
    _seconds(ctx, "warm-up")  # the dummy hash is made on first use
    # Interleaved pairs, compared pair by pair: a change in the machine's load (other test
    # suites on the same two cores) weighs on both halves of a pair alike.
    pairs = [(_seconds(ctx, "no-such-user"), _seconds(ctx, user.username)) for _ in range(30)]
    ratio = statistics.median(u / w for u, w in pairs)
    assert abs(ratio - 1) <= 0.2, (ratio, pairs)


def test_a_login_rehashes_a_password_made_with_other_parameters(ctx: AppContext,
                                                               user: ApiUser) -> None:
    current = ScryptParams.parse(TEST_SCRYPT)
    older = ScryptParams(2**12, 8, 1)
    with ctx.db.write() as conn:
        user_store.set_password_hash(conn, user.id, hash_password(user.password, older))
    ctx.accounts.login(user.username, user.password)
    with ctx.db.read() as conn:
        stored = user_store.get_user_with_password(conn, user.username)[1]  # type: ignore[index]
    assert not needs_rehash(stored, current) and needs_rehash(stored, older)
    ctx.accounts.login(user.username, user.password)  # the new hash works


def test_the_default_cost_is_a_current_recommendation() -> None:
    # OWASP: N=2^17,r=8,p=1 or an equivalent such as N=2^14,r=8,p=5.
    assert RECOMMENDED_SCRYPT.n * RECOMMENDED_SCRYPT.r * RECOMMENDED_SCRYPT.p >= 2**14 * 8 * 5
    assert needs_rehash(hash_password("x", ScryptParams(2**10, 8, 1)), RECOMMENDED_SCRYPT)
