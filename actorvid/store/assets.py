"""Assets: the rows describing uploaded or fetched media; the bytes live in ``blobs``."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from actorvid.store.models import Scope, dump_json, load_json, scope_sql, scoped_delete


@dataclass(frozen=True, slots=True)
class Asset:
    id: str
    user_id: int
    client_id: str | None
    campaign_id: str | None
    name: str
    asset_type: str
    format: str
    content_type: str
    size: int
    width: int | None
    height: int | None
    duration: float | None
    tags: tuple[str, ...]
    source_url: str | None
    blob_id: str
    sha256: str
    thumbnail_blob_id: str | None
    metadata: dict[str, Any] | None
    uploaded_at: str


_COLUMNS = """id, user_id, client_id, campaign_id, name, asset_type, format, content_type,
              size, width, height, duration, tags, source_url, blob_id, sha256,
              thumbnail_blob_id, metadata, uploaded_at"""


def _asset(row: sqlite3.Row) -> Asset:
    tags = load_json(row["tags"], [])
    return Asset(
        row["id"], row["user_id"], row["client_id"], row["campaign_id"], row["name"],
        row["asset_type"], row["format"], row["content_type"], row["size"], row["width"],
        row["height"], row["duration"],
        tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
        row["source_url"], row["blob_id"], row["sha256"], row["thumbnail_blob_id"],
        load_json(row["metadata"]), row["uploaded_at"])


def insert_asset(conn: sqlite3.Connection, asset: Asset) -> Asset:
    """Insert ``asset`` as given (its blobs must exist) and return it as stored."""
    conn.execute(
        f"""
        INSERT INTO assets ({_COLUMNS})
        VALUES (:id, :user_id, :client_id, :campaign_id, :name, :asset_type, :format,
                :content_type, :size, :width, :height, :duration, :tags, :source_url,
                :blob_id, :sha256, :thumbnail_blob_id, :metadata, :uploaded_at)
        """,
        {"id": asset.id, "user_id": asset.user_id, "client_id": asset.client_id,
         "campaign_id": asset.campaign_id, "name": asset.name, "asset_type": asset.asset_type,
         "format": asset.format, "content_type": asset.content_type, "size": asset.size,
         "width": asset.width, "height": asset.height, "duration": asset.duration,
         "tags": dump_json(list(asset.tags)), "source_url": asset.source_url,
         "blob_id": asset.blob_id, "sha256": asset.sha256,
         "thumbnail_blob_id": asset.thumbnail_blob_id, "metadata": dump_json(asset.metadata),
         "uploaded_at": asset.uploaded_at},
    )
    stored = get_asset(conn, asset.id, scope=Scope(asset.user_id))
    assert stored is not None
    return stored


def get_asset(conn: sqlite3.Connection, asset_id: str, *, scope: Scope) -> Asset | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM assets WHERE id = :id AND {scope_sql()}",
        {"id": asset_id, **scope.params},
    ).fetchone()
    return _asset(row) if row else None


def list_assets(conn: sqlite3.Connection, *, scope: Scope, limit: int, offset: int,
                client_id: str | None = None, campaign_id: str | None = None,
                asset_type: str | None = None) -> tuple[list[Asset], int]:
    """A page of the visible assets, newest first, and how many there are in all."""
    where = f"""{scope_sql()}
        AND (:client_id IS NULL OR client_id = :client_id)
        AND (:campaign_id IS NULL OR campaign_id = :campaign_id)
        AND (:asset_type IS NULL OR asset_type = :asset_type)"""
    params = {**scope.params, "client_id": client_id, "campaign_id": campaign_id,
              "asset_type": asset_type}
    rows = conn.execute(
        f"""
        SELECT {_COLUMNS} FROM assets WHERE {where}
        ORDER BY uploaded_at DESC, rowid DESC LIMIT :limit OFFSET :offset
        """,
        {**params, "limit": limit, "offset": offset},
    ).fetchall()
    total = conn.execute(f"SELECT count(*) FROM assets WHERE {where}", params).fetchone()[0]
    return [_asset(r) for r in rows], int(total)


def delete_asset(conn: sqlite3.Connection, asset_id: str, *, scope: Scope) -> bool:
    """Delete a visible asset; the ``assets_delete_blobs`` trigger removes its bytes."""
    return scoped_delete(conn, "assets", asset_id, scope=scope)


def access_resource(asset_id: str) -> str:
    """The resource string an asset's ``?token=`` access token is bound to."""
    return f"asset:{asset_id}"
