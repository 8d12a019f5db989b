"""Old assets (bytes in ``asset_blobs`` or inline ``blob_data``) as new assets and blobs."""

from __future__ import annotations

import sqlite3

from actorvid.legacy.rows import (
    ASSET_TYPES,
    BlobSource,
    RowImport,
    RowImporter,
    Skip,
    as_float,
    as_int,
    json_column,
    timestamp,
)
from actorvid.media import magic
from actorvid.store import assets as asset_store
from actorvid.store.blobs import BlobInfo


class AssetRows(RowImporter):
    """Assets and their bytes."""

    def _asset_bytes(self, row: sqlite3.Row) -> tuple[BlobSource, str]:
        """Where an asset's bytes are: its ``asset_blobs`` row, else legacy ``blob_data``."""
        why = []
        if row["blob_id"]:
            found = self.reader.asset_blob(str(row["blob_id"]))
            if found is not None:
                return BlobSource("asset_blobs", "data", found[0], found[1]), "asset_blobs"
            why.append(f"asset_blobs row {row['blob_id']} is missing or empty")
        if row["blob_data_type"] == "blob" and (row["blob_data_len"] or 0) > 0:
            return BlobSource("assets", "blob_data", row["_rowid"], row["blob_data_len"]), \
                "blob_data"
        why.append("no inline blob_data")
        raise Skip("no bytes anywhere: " + "; ".join(why))

    def _prepare_asset(self, row: sqlite3.Row) -> RowImport:
        asset_id = self._text_id(row, "assets")
        declared = row["asset_type"]
        if declared not in ASSET_TYPES:
            raise Skip(f"asset_type {declared!r} is not image, video, audio or document")
        tags = json_column(row, "tags", [], kind=list)
        if not all(isinstance(t, str) for t in tags):
            raise Skip("tags is not a JSON list of strings")
        source, where = self._asset_bytes(row)
        sniffed = self._sniff(source)
        if sniffed is None:
            raise Skip("its bytes are not a supported image, video, audio or document")
        notes = []
        if declared == "audio" and sniffed.may_be_audio:
            sniffed = magic.AUDIO_ONLY.get(sniffed.format, sniffed)
        if sniffed.asset_type != declared or sniffed.format != row["format"]:
            notes.append(f"was {declared}/{row['format']}, the bytes are "
                         f"{sniffed.asset_type}/{sniffed.format}")
        client_id, campaign_id, owner = self._owner_from(row)
        for name, old, new in (("client", row["client_id"], client_id),
                               ("campaign", row["campaign_id"], campaign_id)):
            if old and new is None:
                notes.append(f"its {name} {old} was not imported; the asset is kept without it")
        user_id = self._new_of("user", row["user_id"])
        if row["user_id"] is not None and user_id is None:
            raise Skip(f"its user {row['user_id']} was not imported")
        if user_id is None and owner is None:
            raise Skip("it has no user, client or campaign to tell its owner")
        blobs = {"data": source}
        if row["thumbnail_blob_id"]:
            found = self.reader.asset_blob(str(row["thumbnail_blob_id"]))
            thumb = BlobSource("asset_blobs", "data", *found) if found else None
            if thumb is not None and (s := self._sniff(thumb)) and s.asset_type == "image":
                blobs["thumbnail"] = thumb
            else:
                notes.append("its thumbnail is missing or not an image; imported without one")
        width, height = as_int(row["width"]), as_int(row["height"])
        if sniffed is magic.SVG and (width is None or height is None):
            width, height = magic.svg_size(self.reader.head(source.table, source.column,
                                                            source.rowid))
        visual = sniffed.asset_type in ("image", "video")
        now = self._now()
        metadata = {k: v for k, v in (("legacyUrl", row["url"]),
                                      ("legacyThumbnailUrl", row["thumbnail_url"]),
                                      ("legacyBytesFrom", where)) if v}

        def insert(conn: sqlite3.Connection, infos: dict[str, BlobInfo]) -> str:
            data = infos["data"]
            asset_store.insert_asset(conn, asset_store.Asset(
                id=asset_id, user_id=int(user_id) if user_id is not None else int(owner or 0),
                client_id=client_id, campaign_id=campaign_id,
                name=str(row["name"] or "").strip() or f"asset.{sniffed.format}",
                asset_type=sniffed.asset_type, format=sniffed.format,
                content_type=sniffed.content_type, size=data.size,
                width=width if visual else None, height=height if visual else None,
                duration=as_float(row["duration"]) if sniffed.asset_type in ("video", "audio")
                else None,
                tags=tuple(tags), source_url=row["source_url"], blob_id=data.id,
                sha256=data.sha256,
                thumbnail_blob_id=infos["thumbnail"].id if "thumbnail" in infos else None,
                metadata=metadata or None, uploaded_at=timestamp(row["uploaded_at"], now)))
            return asset_id

        return RowImport("asset", asset_id, insert=insert, dry_id=lambda conn: asset_id,
                    blobs=blobs, notes=notes)
