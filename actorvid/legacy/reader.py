"""Read a database file of the old Python backend, read-only, in batches, blobs in chunks.

The file is opened with ``mode=ro`` (and ``query_only``), so nothing here can change it. Old
files differ by which side migrations ran, so a column the file lacks reads as NULL instead of
failing, and a table it lacks reads as empty. Blob columns are never selected whole: rows carry
their ``typeof``/``length``, and the bytes are streamed with ``blobopen(readonly=True)``.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)

READ_CHUNK = 256 * 1024
SNIFF_BYTES = 4096

# The columns the importer reads, per table; blob columns come as ``<col>_type``/``<col>_len``.
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "users": (("id", "username", "email", "hashed_password", "is_active", "is_admin",
               "created_at", "last_login"), ()),
    "api_keys": (("id", "key_hash", "name", "user_id", "is_active", "created_at", "last_used",
                  "expires_at"), ()),
    "clients": (("id", "user_id", "name", "description", "homepage", "brand_guidelines",
                 "metadata", "created_at", "updated_at"), ()),
    "campaigns": (("id", "client_id", "user_id", "name", "goal", "status", "product_url",
                   "brief", "metadata", "created_at", "updated_at"), ()),
    "assets": (("id", "user_id", "client_id", "campaign_id", "name", "asset_type", "url",
                "size", "uploaded_at", "format", "tags", "width", "height", "duration",
                "thumbnail_url", "source_url", "blob_id", "thumbnail_blob_id"),
               ("blob_data",)),
    "generated_videos": (("id", "prompt", "video_url", "model_id", "parameters", "status",
                          "created_at", "metadata", "progress", "storyboard_data", "approved",
                          "approved_at", "estimated_cost", "actual_cost", "error_message",
                          "updated_at", "client_id", "campaign_id", "format", "duration"),
                         ("video_data", "thumbnail_data")),
    "job_scenes": (("id", "job_id", "scene_number", "duration_seconds", "description",
                    "script", "shot_type", "transition", "assets", "metadata", "created_at",
                    "updated_at"), ()),
    "video_sub_jobs": (("id", "job_id", "sub_job_number", "image1_asset_id", "image2_asset_id",
                        "replicate_prediction_id", "model_id", "input_parameters", "status",
                        "progress", "video_url", "duration_seconds", "estimated_cost",
                        "actual_cost", "error_message", "retry_count", "started_at",
                        "completed_at", "created_at", "updated_at"), ()),
    "generated_audio": (("id", "prompt", "audio_url", "model_id", "parameters", "status",
                         "created_at", "metadata", "duration", "client_id", "campaign_id"),
                        ("audio_data",)),
}


class LegacyDatabaseError(Exception):
    """The file is not a readable database of the old backend."""


class LegacyReader:
    """A read-only view of one old ``scenes.db``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise LegacyDatabaseError(f"{self.path} does not exist or is not a file")
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        try:
            self.conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA query_only = ON")
            names = {r[0] for r in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise LegacyDatabaseError(f"{self.path} is not a SQLite database: {exc}") from None
        if "users" not in names or "generated_videos" not in names:
            self.conn.close()
            raise LegacyDatabaseError(
                f"{self.path} has no users/generated_videos tables; is it the old scenes.db?")
        self.tables = names
        self._columns: dict[str, set[str]] = {}

    def close(self) -> None:
        self.conn.close()

    def columns(self, table: str) -> set[str]:
        if table not in self._columns:
            self._columns[table] = {r[1] for r in self.conn.execute(
                f"PRAGMA table_info({table})")} if table in self.tables else set()
        return self._columns[table]

    def _select_list(self, table: str) -> str:
        plain, blobs = TABLES[table]
        have = self.columns(table)
        parts = ["rowid AS _rowid"]
        parts += [c if c in have else f"NULL AS {c}" for c in plain]
        for c in blobs:
            if c in have:
                parts += [f"typeof({c}) AS {c}_type", f"length({c}) AS {c}_len"]
            else:
                parts += [f"NULL AS {c}_type", f"NULL AS {c}_len"]
        return ", ".join(parts)

    def count(self, table: str) -> int:
        if table not in self.tables:
            return 0
        return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def batches(self, table: str, size: int) -> Iterator[list[sqlite3.Row]]:
        """Every row of ``table`` in rowid order, ``size`` at a time (keyset pagination)."""
        if table not in self.tables:
            return
        select = self._select_list(table)
        after = -(2**63)
        while True:
            rows = self.conn.execute(
                f"""
                SELECT {select} FROM {table}
                WHERE rowid > :after ORDER BY rowid LIMIT :size
                """,
                {"after": after, "size": size},
            ).fetchall()
            if not rows:
                return
            yield rows
            after = rows[-1]["_rowid"]

    def rows_where(self, table: str, column: str, value: object, order: str = "rowid"
                   ) -> list[sqlite3.Row]:
        """The rows of ``table`` whose ``column`` is ``value`` (names from our code only)."""
        if table not in self.tables or column not in self.columns(table):
            return []
        return self.conn.execute(
            f"SELECT {self._select_list(table)} FROM {table} WHERE {column} = :value "
            f"ORDER BY {order}",
            {"value": value},
        ).fetchall()

    def asset_blob(self, blob_id: str) -> tuple[int, int] | None:
        """``(rowid, size)`` of an ``asset_blobs`` row holding bytes, or None."""
        if "asset_blobs" not in self.tables:
            return None
        row = self.conn.execute(
            """
            SELECT rowid, length(data) FROM asset_blobs
            WHERE id = :id AND typeof(data) = 'blob' AND length(data) > 0
            """,
            {"id": blob_id},
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def head(self, table: str, column: str, rowid: int, size: int = SNIFF_BYTES) -> bytes:
        with self.conn.blobopen(table, column, rowid, readonly=True) as handle:
            return handle.read(size)

    def iter_blob(self, table: str, column: str, rowid: int, chunk: int = READ_CHUNK
                  ) -> Iterator[bytes]:
        """The bytes of one blob cell, ``chunk`` at a time (never the whole value at once)."""
        with self.conn.blobopen(table, column, rowid, readonly=True) as handle:
            while True:
                piece = handle.read(chunk)
                if not piece:
                    return
                yield piece
