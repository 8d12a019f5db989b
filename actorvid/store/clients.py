"""Clients (the brands a user makes videos for)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from actorvid.store.models import (
    Scope,
    dump_json,
    load_json,
    scope_sql,
    scoped_delete,
    scoped_update,
)


@dataclass(frozen=True, slots=True)
class Client:
    id: str
    user_id: int
    name: str
    description: str
    homepage: str | None
    brand_guidelines: dict[str, Any] | None
    metadata: dict[str, Any] | None
    created_at: str
    updated_at: str


_COLUMNS = """id, user_id, name, description, homepage, brand_guidelines, metadata,
              created_at, updated_at"""

# Columns a caller may set, with how each is stored.
UPDATABLE = {"name": str, "description": str, "homepage": str,
             "brand_guidelines": dump_json, "metadata": dump_json}


def _client(row: sqlite3.Row) -> Client:
    return Client(row["id"], row["user_id"], row["name"], row["description"], row["homepage"],
                  load_json(row["brand_guidelines"]), load_json(row["metadata"]),
                  row["created_at"], row["updated_at"])


def create_client(conn: sqlite3.Connection, *, client_id: str, user_id: int, name: str,
                  description: str, homepage: str | None,
                  brand_guidelines: dict[str, Any] | None, metadata: dict[str, Any] | None,
                  now: str) -> Client:
    conn.execute(
        """
        INSERT INTO clients (id, user_id, name, description, homepage, brand_guidelines,
                             metadata, created_at, updated_at)
        VALUES (:id, :user_id, :name, :description, :homepage, :brand_guidelines, :metadata,
                :now, :now)
        """,
        {"id": client_id, "user_id": user_id, "name": name, "description": description,
         "homepage": homepage, "brand_guidelines": dump_json(brand_guidelines),
         "metadata": dump_json(metadata), "now": now},
    )
    client = get_client(conn, client_id, scope=Scope(user_id))
    assert client is not None
    return client


def get_client(conn: sqlite3.Connection, client_id: str, *, scope: Scope) -> Client | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM clients WHERE id = :id AND {scope_sql()}",
        {"id": client_id, **scope.params},
    ).fetchone()
    return _client(row) if row else None


def list_clients(conn: sqlite3.Connection, *, scope: Scope, limit: int, offset: int
                 ) -> tuple[list[Client], int]:
    rows = conn.execute(
        f"""
        SELECT {_COLUMNS} FROM clients WHERE {scope_sql()}
        ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset
        """,
        {**scope.params, "limit": limit, "offset": offset},
    ).fetchall()
    total = conn.execute(f"SELECT count(*) FROM clients WHERE {scope_sql()}",
                         scope.params).fetchone()[0]
    return [_client(r) for r in rows], int(total)


def update_client(conn: sqlite3.Connection, client_id: str, changes: dict[str, Any], *,
                  scope: Scope, now: str) -> Client | None:
    """Apply ``changes`` (keys of :data:`UPDATABLE`); ``None`` when no such client is visible."""
    if not scoped_update(conn, "clients", client_id, changes, updatable=UPDATABLE,
                         scope=scope, now=now):
        return None
    return get_client(conn, client_id, scope=scope)


def delete_client(conn: sqlite3.Connection, client_id: str, *, scope: Scope) -> bool:
    return scoped_delete(conn, "clients", client_id, scope=scope)


def client_stats(conn: sqlite3.Connection, client_id: str) -> dict[str, Any]:
    campaigns = conn.execute("SELECT count(*) FROM campaigns WHERE client_id = :id",
                             {"id": client_id}).fetchone()[0]
    videos, spend = conn.execute(
        """
        SELECT count(*), coalesce(sum(actual_cost), 0.0) FROM jobs
        WHERE client_id = :id AND status = 'completed'
        """,
        {"id": client_id},
    ).fetchone()
    return {"campaignCount": int(campaigns), "videoCount": int(videos),
            "totalSpend": round(float(spend), 4)}
