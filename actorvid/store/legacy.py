"""Rows of the import from the old Python backend: the import ledger, staged blobs, old keys.

A blob copied from the old file is written chunk by chunk by
:func:`actorvid.store.blobs.write_blob` (one short transaction each) but left ``complete = 0``;
the batch transaction that inserts the row referring to it also marks it complete
(:func:`actorvid.store.blobs.mark_complete`). So a run killed between the two leaves only an
incomplete blob, which :func:`actorvid.store.blobs.delete_incomplete` removes at the next
start, never a finished blob nobody refers to.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from actorvid.store.db import Database
from actorvid.store.users import User, _user

# --- the import ledger -------------------------------------------------------------------


def ledger_exists(conn: sqlite3.Connection) -> bool:
    """Whether the database has the m0005 tables (a dry run may look at an older file)."""
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'legacy_imports'"
    ).fetchone()
    return row is not None


def load_ledger(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """Everything imported so far: ``(kind, old_id) -> new_id``."""
    rows = conn.execute("SELECT kind, old_id, new_id FROM legacy_imports").fetchall()
    return {(r[0], r[1]): r[2] for r in rows}


def record_import(conn: sqlite3.Connection, *, kind: str, old_id: str, new_id: str, now: str
                  ) -> None:
    conn.execute(
        """
        INSERT INTO legacy_imports (kind, old_id, new_id, imported_at)
        VALUES (:kind, :old_id, :new_id, :now)
        """,
        {"kind": kind, "old_id": old_id, "new_id": new_id, "now": now},
    )


def row_exists(conn: sqlite3.Connection, table: str, row_id: object) -> bool:
    """Whether ``table`` (a name from our code, never from input) has a row with this id."""
    return conn.execute(f"SELECT 1 FROM {table} WHERE id = :id",
                        {"id": row_id}).fetchone() is not None


# --- staged blobs (written by store.blobs.write_blob, complete=False) --------------------


def discard_blobs(db: Database, blob_ids: Iterable[str]) -> None:
    """Delete staged blobs that were not used (their row was skipped or the batch failed)."""
    ids = list(blob_ids)
    if not ids:
        return
    with db.write() as conn:
        for blob_id in ids:
            conn.execute("DELETE FROM blobs WHERE id = :id AND complete = 0", {"id": blob_id})


# --- old API keys ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LegacyApiKey:
    id: int
    user_id: int
    name: str
    bcrypt_hash: str
    created_at: str
    expires_at: str | None


def insert_legacy_api_key(conn: sqlite3.Connection, *, user_id: int, name: str,
                          bcrypt_hash: str, is_active: bool, created_at: str,
                          last_used: str | None, expires_at: str | None) -> int:
    cur = conn.execute(
        """
        INSERT INTO legacy_api_keys (user_id, name, bcrypt_hash, is_active, created_at,
                                     last_used, expires_at)
        VALUES (:user_id, :name, :bcrypt_hash, :is_active, :created_at, :last_used,
                :expires_at)
        """,
        {"user_id": user_id, "name": name, "bcrypt_hash": bcrypt_hash,
         "is_active": 1 if is_active else 0, "created_at": created_at,
         "last_used": last_used, "expires_at": expires_at},
    )
    return int(cur.lastrowid or 0)


def pending_legacy_api_keys(conn: sqlite3.Connection, now: str) -> list[LegacyApiKey]:
    """Old keys still usable and not yet moved, most recently used first (likeliest match)."""
    try:
        rows = conn.execute(
            """
            SELECT id, user_id, name, bcrypt_hash, created_at, expires_at
            FROM legacy_api_keys
            WHERE migrated_at IS NULL AND is_active = 1
              AND (expires_at IS NULL OR expires_at > :now)
            ORDER BY last_used IS NULL, last_used DESC, id
            """,
            {"now": now},
        ).fetchall()
    except sqlite3.OperationalError:
        # A database opened without migrations has no such table: nothing to check.
        return []
    return [LegacyApiKey(r["id"], r["user_id"], r["name"], r["bcrypt_hash"], r["created_at"],
                         r["expires_at"]) for r in rows]


def migrate_legacy_api_key(conn: sqlite3.Connection, legacy: LegacyApiKey, *, key_hash: str,
                           key_prefix: str, now: str) -> bool:
    """Move a matched old key to ``api_keys`` (same user and name); False if already moved."""
    cur = conn.execute(
        """
        UPDATE legacy_api_keys SET migrated_at = :now
        WHERE id = :id AND migrated_at IS NULL
        """,
        {"id": legacy.id, "now": now},
    )
    if cur.rowcount == 0:
        return False
    cur = conn.execute(
        """
        INSERT INTO api_keys (user_id, name, key_hash, key_prefix, is_active, created_at,
                              last_used, expires_at)
        VALUES (:user_id, :name, :key_hash, :key_prefix, 1, :created_at, :now, :expires_at)
        """,
        {"user_id": legacy.user_id, "name": legacy.name, "key_hash": key_hash,
         "key_prefix": key_prefix, "created_at": legacy.created_at, "now": now,
         "expires_at": legacy.expires_at},
    )
    conn.execute("UPDATE legacy_api_keys SET api_key_id = :key_id WHERE id = :id",
                 {"key_id": cur.lastrowid, "id": legacy.id})
    return True


def replace_password_hash(conn: sqlite3.Connection, user_id: int, *, old_hash: str,
                          new_hash: str) -> bool:
    """Swap a user's hash only if it is still ``old_hash`` (two logins race harmlessly)."""
    cur = conn.execute(
        """
        UPDATE users SET password_hash = :new_hash
        WHERE id = :id AND password_hash = :old_hash
        """,
        {"id": user_id, "old_hash": old_hash, "new_hash": new_hash},
    )
    return cur.rowcount == 1


def find_user(conn: sqlite3.Connection, *, username: str, email: str) -> list[User]:
    """Users of the new database with this username or this email (the import's collisions)."""
    rows = conn.execute(
        """
        SELECT u.id, u.username, u.email, u.is_active, u.is_admin, u.created_at, u.last_login
        FROM users u WHERE u.username = :username OR u.email = :email
        """,
        {"username": username, "email": email},
    ).fetchall()
    return [_user(r) for r in rows]


def first_admin(conn: sqlite3.Connection) -> User | None:
    row = conn.execute(
        """
        SELECT u.id, u.username, u.email, u.is_active, u.is_admin, u.created_at, u.last_login
        FROM users u WHERE u.is_admin = 1 AND u.is_active = 1 ORDER BY u.id LIMIT 1
        """
    ).fetchone()
    return _user(row) if row else None


def insert_row(conn: sqlite3.Connection, table: str, values: dict[str, object]) -> int:
    """``INSERT INTO table`` the given columns; returns the rowid.

    ``table`` and the column names come from the importer's code, never from the old file;
    an ``id`` of None lets AUTOINCREMENT choose (an old integer id that is taken).
    """
    columns = [c for c in values if not (c == "id" and values[c] is None)]
    cur = conn.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + c for c in columns)})",
        {c: values[c] for c in columns},
    )
    return int(cur.lastrowid or 0)
