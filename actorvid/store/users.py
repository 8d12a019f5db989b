"""Users, API keys and sessions (login sessions and resource-bound access tokens)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from actorvid.errors import Conflict


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    email: str
    is_active: bool
    is_admin: bool
    created_at: str
    last_login: str | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    user_id: int
    name: str
    key_prefix: str
    is_active: bool
    created_at: str
    last_used: str | None
    expires_at: str | None


_USER_COLUMNS = "u.id, u.username, u.email, u.is_active, u.is_admin, u.created_at, u.last_login"


def _user(row: sqlite3.Row) -> User:
    return User(row["id"], row["username"], row["email"], bool(row["is_active"]),
                bool(row["is_admin"]), row["created_at"], row["last_login"])


def _api_key(row: sqlite3.Row) -> ApiKey:
    return ApiKey(row["id"], row["user_id"], row["name"], row["key_prefix"],
                  bool(row["is_active"]), row["created_at"], row["last_used"], row["expires_at"])


def count_users(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])


def create_user(conn: sqlite3.Connection, *, username: str, email: str, password_hash: str,
                is_admin: bool, now: str) -> User:
    try:
        cur = conn.execute(
            """
            INSERT INTO users (username, email, password_hash, is_active, is_admin, created_at)
            VALUES (:username, :email, :password_hash, 1, :is_admin, :now)
            """,
            {"username": username, "email": email, "password_hash": password_hash,
             "is_admin": 1 if is_admin else 0, "now": now},
        )
    except sqlite3.IntegrityError:
        raise Conflict("A user with this username or email already exists") from None
    user = get_user(conn, int(cur.lastrowid or 0))
    assert user is not None
    return user


def get_user(conn: sqlite3.Connection, user_id: int) -> User | None:
    row = conn.execute(f"SELECT {_USER_COLUMNS} FROM users u WHERE u.id = :id",
                       {"id": user_id}).fetchone()
    return _user(row) if row else None


def get_user_with_password(conn: sqlite3.Connection, username: str
                           ) -> tuple[User, str] | None:
    row = conn.execute(
        f"SELECT {_USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = :username",
        {"username": username},
    ).fetchone()
    return (_user(row), row["password_hash"]) if row else None


def set_password_hash(conn: sqlite3.Connection, user_id: int, password_hash: str) -> None:
    conn.execute("UPDATE users SET password_hash = :hash WHERE id = :id",
                 {"hash": password_hash, "id": user_id})


def record_login(conn: sqlite3.Connection, user_id: int, now: str) -> None:
    conn.execute("UPDATE users SET last_login = :now WHERE id = :id", {"now": now, "id": user_id})


# --- API keys ------------------------------------------------------------------------------


def create_api_key(conn: sqlite3.Connection, *, user_id: int, name: str, key_hash: str,
                   key_prefix: str, now: str, expires_at: str | None) -> ApiKey:
    cur = conn.execute(
        """
        INSERT INTO api_keys (user_id, name, key_hash, key_prefix, is_active, created_at,
                              expires_at)
        VALUES (:user_id, :name, :key_hash, :key_prefix, 1, :now, :expires_at)
        """,
        {"user_id": user_id, "name": name, "key_hash": key_hash, "key_prefix": key_prefix,
         "now": now, "expires_at": expires_at},
    )
    row = conn.execute("SELECT * FROM api_keys WHERE id = :id", {"id": cur.lastrowid}).fetchone()
    return _api_key(row)


def find_user_by_api_key(conn: sqlite3.Connection, key_hash: str, now: str
                         ) -> tuple[User, ApiKey] | None:
    """The active, unexpired key with this hash and its user (active or not)."""
    row = conn.execute(
        f"""
        SELECT {_USER_COLUMNS}, k.id AS key_id, k.user_id, k.name, k.key_prefix,
               k.is_active AS key_active, k.created_at AS key_created_at, k.last_used,
               k.expires_at
        FROM api_keys k JOIN users u ON u.id = k.user_id
        WHERE k.key_hash = :key_hash AND k.is_active = 1
          AND (k.expires_at IS NULL OR k.expires_at > :now)
        """,
        {"key_hash": key_hash, "now": now},
    ).fetchone()
    if row is None:
        return None
    key = ApiKey(row["key_id"], row["user_id"], row["name"], row["key_prefix"],
                 bool(row["key_active"]), row["key_created_at"], row["last_used"],
                 row["expires_at"])
    return _user(row), key


def touch_api_key(conn: sqlite3.Connection, key_id: int, now: str, stale_before: str) -> None:
    """Record use, at most once per interval, so a busy key is not a write per request."""
    conn.execute(
        """
        UPDATE api_keys SET last_used = :now
        WHERE id = :id AND (last_used IS NULL OR last_used < :stale_before)
        """,
        {"now": now, "id": key_id, "stale_before": stale_before},
    )


def list_api_keys(conn: sqlite3.Connection, *, user_id: int) -> list[ApiKey]:
    rows = conn.execute(
        "SELECT * FROM api_keys WHERE user_id = :user_id ORDER BY created_at DESC, id DESC",
        {"user_id": user_id},
    ).fetchall()
    return [_api_key(r) for r in rows]


def revoke_api_key(conn: sqlite3.Connection, key_id: int, *, user_id: int) -> bool:
    cur = conn.execute(
        "UPDATE api_keys SET is_active = 0 WHERE id = :id AND user_id = :user_id",
        {"id": key_id, "user_id": user_id},
    )
    return cur.rowcount == 1


# --- sessions and access tokens ----------------------------------------------------------


def create_session(conn: sqlite3.Connection, *, user_id: int, token_hash: str, kind: str,
                   resource: str | None, now: str, expires_at: str) -> None:
    conn.execute(
        """
        INSERT INTO sessions (user_id, token_hash, kind, resource, created_at, expires_at)
        VALUES (:user_id, :token_hash, :kind, :resource, :now, :expires_at)
        """,
        {"user_id": user_id, "token_hash": token_hash, "kind": kind, "resource": resource,
         "now": now, "expires_at": expires_at},
    )


@dataclass(frozen=True, slots=True)
class SessionMatch:
    user: User
    resource: str | None
    expires_at: str


def find_session(conn: sqlite3.Connection, token_hash: str, *, kind: str, now: str
                 ) -> SessionMatch | None:
    """The live (unrevoked, unexpired) session or access token with this hash, and its user."""
    row = conn.execute(
        f"""
        SELECT {_USER_COLUMNS}, s.resource, s.expires_at
        FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.token_hash = :token_hash AND s.kind = :kind AND s.revoked_at IS NULL
          AND s.expires_at > :now
        """,
        {"token_hash": token_hash, "kind": kind, "now": now},
    ).fetchone()
    if row is None:
        return None
    return SessionMatch(_user(row), row["resource"], row["expires_at"])


def revoke_session(conn: sqlite3.Connection, token_hash: str, now: str) -> bool:
    cur = conn.execute(
        """
        UPDATE sessions SET revoked_at = :now
        WHERE token_hash = :token_hash AND revoked_at IS NULL
        """,
        {"token_hash": token_hash, "now": now},
    )
    return cur.rowcount == 1


def delete_expired_sessions(conn: sqlite3.Connection, now: str) -> int:
    """Delete sessions and access tokens that can no longer open anything."""
    return int(conn.execute(
        "DELETE FROM sessions WHERE expires_at <= :now OR revoked_at IS NOT NULL",
        {"now": now}).rowcount)
