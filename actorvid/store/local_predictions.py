"""The offline provider's predictions, kept in the database so they outlive the process.

:class:`DatabasePredictions` is the ``LocalPredictionStore`` the app gives the local providers
(``actorvid.providers.local``, which never imports the store): a stored prediction id stays
valid across a restart (an unfinished one is run again from its stored inputs), and its output
is a blob like every other binary.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from actorvid.domain.predictions import LocalPrediction
from actorvid.store import blobs
from actorvid.store.db import Database
from actorvid.store.models import dump_json, load_json

COLUMNS = "id, kind, tag, input, status, error, output_blob_id, created_at, completed_at"


def _record(row: sqlite3.Row) -> LocalPrediction:
    return LocalPrediction(id=row["id"], kind=row["kind"], tag=row["tag"],
                           input=load_json(row["input"], {}), status=row["status"],
                           created_at=row["created_at"], error=row["error"],
                           has_output=row["output_blob_id"] is not None,
                           completed_at=row["completed_at"])


class DatabasePredictions:
    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(self, *, id: str, kind: str, tag: str, input: dict[str, Any],
               created_at: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                """
                INSERT INTO local_predictions (id, kind, tag, input, status, created_at)
                VALUES (:id, :kind, :tag, :input, 'starting', :created_at)
                """,
                {"id": id, "kind": kind, "tag": tag, "input": dump_json(input),
                 "created_at": created_at})

    def _one(self, where: str, value: str) -> LocalPrediction | None:
        with self.db.read() as conn:
            row = conn.execute(
                f"SELECT {COLUMNS} FROM local_predictions WHERE {where} = :value "
                "ORDER BY created_at DESC LIMIT 1", {"value": value}).fetchone()
        return _record(row) if row else None

    def get(self, prediction_id: str) -> LocalPrediction | None:
        return self._one("id", prediction_id)

    def by_tag(self, tag: str) -> LocalPrediction | None:
        return self._one("tag", tag)

    def set_status(self, prediction_id: str, status: str, *, error: str | None = None,
                   output: Path | None = None, completed_at: str | None = None) -> None:
        blob_id = None
        if output is not None:
            with output.open("rb") as handle:
                blob_id = blobs.write_blob_from_file(self.db, handle).id
        with self.db.write() as conn:
            cur = conn.execute(
                """
                UPDATE local_predictions
                SET status = :status, error = :error,
                    output_blob_id = coalesce(:blob_id, output_blob_id),
                    completed_at = :completed_at
                WHERE id = :id
                """,
                {"id": prediction_id, "status": status, "error": error, "blob_id": blob_id,
                 "completed_at": completed_at})
        if cur.rowcount == 0 and blob_id is not None:
            blobs.delete_blob(self.db, blob_id)  # the prediction was removed meanwhile

    def open_output(self, prediction_id: str) -> Iterator[bytes]:
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT output_blob_id FROM local_predictions WHERE id = :id",
                {"id": prediction_id}).fetchone()
        if row is None or row[0] is None:
            return iter(())
        return blobs.iter_blob(self.db, blobs.blob_info(self.db, row[0]))

    def drop_outputs(self, kind: str, completed_before: str) -> int:
        with self.db.write() as conn:
            old = [r[0] for r in conn.execute(
                """
                SELECT output_blob_id FROM local_predictions
                WHERE kind = :kind AND output_blob_id IS NOT NULL AND completed_at < :before
                """, {"kind": kind, "before": completed_before})]
            if not old:
                return 0
            conn.execute(
                """
                UPDATE local_predictions SET output_blob_id = NULL
                WHERE kind = :kind AND output_blob_id IS NOT NULL AND completed_at < :before
                """, {"kind": kind, "before": completed_before})
            conn.executemany("DELETE FROM blobs WHERE id = ?", [(b,) for b in old])
        return len(old)
