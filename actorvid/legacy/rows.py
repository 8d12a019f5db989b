"""What every kind of old row shares on its way in: the plan of one row, the reasons to skip
it, the parsing of old columns, and :class:`RowImporter`, the state and plumbing of one run.

The kinds themselves are mixins of :class:`RowImporter`: ``account_rows`` (users, old API keys,
clients, campaigns), ``asset_rows`` and ``job_rows``; ``importer`` runs them in batches.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from actorvid.clock import Clock, isoformat_z, utc_now
from actorvid.legacy.reader import LegacyReader
from actorvid.legacy.report import ImportReport
from actorvid.media import magic
from actorvid.store import legacy as store
from actorvid.store.blobs import BlobInfo
from actorvid.store.db import Database

logger = logging.getLogger(__name__)

BATCH_ROWS = 50
# A batch is closed early once its staged media passes this, so a transaction stays small.
BATCH_BYTES = 64 * 1024 * 1024

# Every raw generated_videos.status the old backend documented -> our seven. Unknown values ->
# failed.
STATUS_MAP = {
    "pending": "pending",
    "parsing": "storyboard_processing", "generating_storyboard": "storyboard_processing",
    "scene_generation": "storyboard_processing",
    "storyboard_ready": "storyboard_ready",
    "rendering": "video_processing", "processing": "video_processing",
    "video_processing": "video_processing", "image_pair_selection": "video_processing",
    "sub_job_creation": "video_processing", "sub_job_processing": "video_processing",
    "video_combining": "video_processing", "audio_generation": "video_processing",
    "pipeline_starting": "video_processing",
    "completed": "completed", "failed": "failed",
    "canceled": "cancelled", "cancelled": "cancelled",
}
STAGE_OF = {"pending": "selecting", "storyboard_processing": "storyboard",
             "storyboard_ready": "awaiting_approval", "video_processing": "rendering",
             "completed": "done", "failed": "done", "cancelled": "done"}
INTERRUPTED = ("Interrupted by the move from the old backend (it was {raw}); "
               "it cannot be resumed here, start it again")
SUB_JOB_STATUSES = ("pending", "processing", "completed", "failed")
ASSET_TYPES = ("image", "video", "audio", "document")


class Skip(Exception):
    """This row cannot be imported; the message is the reason shown in the report."""


@dataclass(frozen=True)
class BlobSource:
    table: str
    column: str
    rowid: int
    size: int


@dataclass
class RowImport:
    """One old row, checked and ready: its blobs and how to insert it."""

    kind: str
    old_id: str
    insert: Callable[[sqlite3.Connection, dict[str, BlobInfo]], str]
    # What a dry run reports as the new id.
    dry_id: Callable[[sqlite3.Connection | None], str]
    blobs: dict[str, BlobSource] = field(default_factory=dict)
    # Rows imported together with this one (a job's scenes): (kind, old_id, new_id or None
    # for "same as the parent's new id").
    children: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ProgressEvent:
    kind: str
    rows: int  # rows handled so far (imported, skipped or already there)
    bytes: int  # media bytes copied (or, dry, that would be) so far


class Interrupted(Exception):
    pass


def default_report_path(target: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return target.with_name(f"{target.name}.legacy-import-{stamp}.json")


def json_column(row: sqlite3.Row, column: str, default: Any = None, *, kind: type | None = None
          ) -> Any:
    raw = row[column]
    if raw is None or raw == "":
        return default
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        value = json.loads(raw)
    except (ValueError, TypeError):
        raise Skip(f"{column} is not valid JSON") from None
    if kind is not None and value is not None and not isinstance(value, kind):
        raise Skip(f"{column} is not a JSON {'object' if kind is dict else 'list'}")
    return value


def timestamp(value: object, fallback: str) -> str:
    """An old ``YYYY-MM-DD HH:MM:SS`` (naive UTC) or ISO text as our ISO-8601 ``Z`` form."""
    if not isinstance(value, str) or not value.strip():
        return fallback
    try:
        return isoformat_z(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return fallback


def optional_timestamp(value: object) -> str | None:
    return timestamp(value, "") or None


def as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


class TargetView:
    """Read-only questions about the new database (a dry run may not even have one)."""

    def __init__(self, conn: sqlite3.Connection | None) -> None:
        self.conn = conn
        self.migrated = conn is not None and store.ledger_exists(conn)

    def ledger(self) -> dict[tuple[str, str], str]:
        return store.load_ledger(self.conn) if self.conn is not None and self.migrated else {}

    def has_table(self, table: str) -> bool:
        return self.conn is not None and self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name",
            {"name": table}).fetchone() is not None


def dump_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)


class RowImporter:
    """The state of one import run and the plumbing every kind of row uses.

    ``db`` is None for a dry run (then ``target`` is only read).
    """

    def __init__(self, reader: LegacyReader, *, target: Path, db: Database | None,
                 dry_run: bool = False, owner: str | None = None,
                 batch_rows: int = BATCH_ROWS, batch_bytes: int = BATCH_BYTES,
                 progress: Callable[[ProgressEvent], None] | None = None,
                 clock: Clock = utc_now) -> None:
        if not dry_run and db is None:
            raise ValueError("a real import needs the database")
        self.reader = reader
        self.db = db
        self.dry_run = dry_run
        self.owner_name = owner
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self.progress = progress
        self.clock = clock
        self.report = ImportReport(source=str(reader.path), target=str(target),
                                   dry_run=dry_run)
        self._view_conn: sqlite3.Connection | None = None
        if dry_run and target.exists():
            uri = f"file:{quote(str(target.resolve()))}?mode=ro"
            self._view_conn = sqlite3.connect(uri, uri=True)
            self._view_conn.row_factory = sqlite3.Row
        self.ledger: dict[tuple[str, str], str] = {}
        # Ids a dry run has promised to rows (nothing is inserted, so track them here).
        self._reserved: dict[str, set[str]] = {"users": set(), "jobs": set()}
        self._rows = 0
        self._owner_id: int | None = None
        self._skipped_ids: set[tuple[str, str]] = set()
        # Owners of the clients and campaigns of this run (a dry run cannot ask the database).
        self._owner_of: dict[tuple[str, str | None], str] = {}
        self._run_admin: int | None = None

    # --- plumbing ------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection | None]:
        if self.db is not None and not self.dry_run:
            with self.db.read() as conn:
                yield conn
        else:
            yield self._view_conn

    def _now(self) -> str:
        return isoformat_z(self.clock())

    def _new_of(self, kind: str, old_id: object) -> str | None:
        return None if old_id is None else self.ledger.get((kind, str(old_id)))

    def _free_int_id(self, conn: sqlite3.Connection | None, table: str, old_id: object
                     ) -> int | None:
        """The old integer id if the new table does not have it yet, else None (a new one)."""
        if not isinstance(old_id, int) or old_id <= 0 or str(old_id) in self._reserved[table]:
            return None
        if conn is not None and TargetView(conn).has_table(table) and \
                store.row_exists(conn, table, old_id):
            return None
        return old_id

    def _dry_int(self, table: str, old_id: object) -> Callable[[sqlite3.Connection | None],
                                                                  str]:
        def dry(conn: sqlite3.Connection | None) -> str:
            free = self._free_int_id(conn, table, old_id)
            if free is None:
                return "(new id)"
            self._reserved[table].add(str(free))
            return str(free)
        return dry

    def _tick(self, kind: str, nbytes: int = 0) -> None:
        self._rows += 1
        self.report.bytes_copied += nbytes
        if self.progress is not None:
            self.progress(ProgressEvent(kind, self._rows, self.report.bytes_copied))

    def _skip(self, kind: str, old_id: str, reason: str) -> None:
        self._skipped_ids.add((kind, old_id))
        self.report.skip(kind, old_id, reason)
        logger.info("skipping old %s %s: %s", kind, old_id, reason)

    # --- shared by several kinds ---------------------------------------------------------

    def _text_id(self, row: sqlite3.Row, table: str) -> str:
        old_id = row["id"]
        if not isinstance(old_id, str) or not old_id.strip() or len(old_id) > 64:
            raise Skip("id is not a text id")
        with self._read() as conn:
            if conn is not None and TargetView(conn).has_table(table) and \
                    store.row_exists(conn, table, old_id):
                raise Skip(f"a {table[:-1]} with this id already exists in the new database")
        return old_id

    def _sniff(self, source: BlobSource) -> magic.Sniffed | None:
        return magic.sniff(self.reader.head(source.table, source.column, source.rowid))

    def _owner_from(self, row: sqlite3.Row) -> tuple[str | None, str | None, int | None]:
        """Mapped client and campaign ids (None when not imported) and their owner."""
        client_id = self._new_of("client", row["client_id"])
        campaign_id = self._new_of("campaign", row["campaign_id"])
        known = self._owner_of.get(("campaign", campaign_id)) or self._owner_of.get(
            ("client", client_id))
        # A dry run's placeholder ("(new id)") still counts as an owner; it is never inserted.
        owner = None if known is None else int(known) if known.isdigit() else -1
        with self._read() as conn:
            for table, ref in (("campaigns", campaign_id), ("clients", client_id)):
                if ref is not None and conn is not None and owner is None:
                    found = conn.execute(f"SELECT user_id FROM {table} WHERE id = :id",
                                         {"id": ref}).fetchone()
                    owner = int(found[0]) if found else None
        return client_id, campaign_id, owner
