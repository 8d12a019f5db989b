"""Campaigns (a client's marketing efforts; assets and jobs hang off them)."""

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

STATUSES = ("active", "archived", "draft")


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    client_id: str
    user_id: int
    name: str
    goal: str
    status: str
    product_url: str | None
    brief: dict[str, Any] | None
    metadata: dict[str, Any] | None
    created_at: str
    updated_at: str


_COLUMNS = """id, client_id, user_id, name, goal, status, product_url, brief, metadata,
              created_at, updated_at"""

UPDATABLE = {"client_id": str, "name": str, "goal": str, "status": str, "product_url": str,
             "brief": dump_json, "metadata": dump_json}


def _campaign(row: sqlite3.Row) -> Campaign:
    return Campaign(row["id"], row["client_id"], row["user_id"], row["name"], row["goal"],
                    row["status"], row["product_url"], load_json(row["brief"]),
                    load_json(row["metadata"]), row["created_at"], row["updated_at"])


def create_campaign(conn: sqlite3.Connection, *, campaign_id: str, client_id: str,
                    user_id: int, name: str, goal: str, status: str, product_url: str | None,
                    brief: dict[str, Any] | None, metadata: dict[str, Any] | None, now: str
                    ) -> Campaign:
    conn.execute(
        """
        INSERT INTO campaigns (id, client_id, user_id, name, goal, status, product_url, brief,
                               metadata, created_at, updated_at)
        VALUES (:id, :client_id, :user_id, :name, :goal, :status, :product_url, :brief,
                :metadata, :now, :now)
        """,
        {"id": campaign_id, "client_id": client_id, "user_id": user_id, "name": name,
         "goal": goal, "status": status, "product_url": product_url, "brief": dump_json(brief),
         "metadata": dump_json(metadata), "now": now},
    )
    campaign = get_campaign(conn, campaign_id, scope=Scope(user_id))
    assert campaign is not None
    return campaign


def get_campaign(conn: sqlite3.Connection, campaign_id: str, *, scope: Scope
                 ) -> Campaign | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM campaigns WHERE id = :id AND {scope_sql()}",
        {"id": campaign_id, **scope.params},
    ).fetchone()
    return _campaign(row) if row else None


def list_campaigns(conn: sqlite3.Connection, *, scope: Scope, limit: int, offset: int,
                   client_id: str | None = None, status: str | None = None
                   ) -> tuple[list[Campaign], int]:
    where = f"""{scope_sql()}
        AND (:client_id IS NULL OR client_id = :client_id)
        AND (:status IS NULL OR status = :status)"""
    params = {**scope.params, "client_id": client_id, "status": status}
    rows = conn.execute(
        f"""
        SELECT {_COLUMNS} FROM campaigns WHERE {where}
        ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset
        """,
        {**params, "limit": limit, "offset": offset},
    ).fetchall()
    total = conn.execute(f"SELECT count(*) FROM campaigns WHERE {where}", params).fetchone()[0]
    return [_campaign(r) for r in rows], int(total)


def update_campaign(conn: sqlite3.Connection, campaign_id: str, changes: dict[str, Any], *,
                    scope: Scope, now: str) -> Campaign | None:
    if not scoped_update(conn, "campaigns", campaign_id, changes, updatable=UPDATABLE,
                         scope=scope, now=now):
        return None
    return get_campaign(conn, campaign_id, scope=scope)


def delete_campaign(conn: sqlite3.Connection, campaign_id: str, *, scope: Scope) -> bool:
    return scoped_delete(conn, "campaigns", campaign_id, scope=scope)


def campaign_stats(conn: sqlite3.Connection, campaign_id: str) -> dict[str, Any]:
    videos, spend = conn.execute(
        """
        SELECT count(*), coalesce(sum(actual_cost), 0.0) FROM jobs
        WHERE campaign_id = :id AND status = 'completed'
        """,
        {"id": campaign_id},
    ).fetchone()
    videos, spend = int(videos), float(spend)
    return {"videoCount": videos, "totalSpend": round(spend, 4),
            "avgCost": round(spend / videos, 4) if videos else 0.0}
