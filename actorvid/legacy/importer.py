"""Import an old backend's database into ours: the mapping of each table, and the batches.

Kinds are imported in dependency order (users, their old API keys, clients, campaigns, assets,
jobs with their storyboard scenes, sub-jobs, generated audio). Each batch of rows is checked
first (a row that cannot be imported raises :class:`Skip` and is listed with its reason), its
blobs are streamed into staged (incomplete) blobs, then one transaction inserts the rows, marks
their blobs complete and writes ``legacy_imports``; each row sits in a savepoint so one refused
row never takes the batch with it, and an exception (an interrupt) rolls the batch back whole.
Whatever is in ``legacy_imports`` is skipped by the next run, so runs can be repeated.
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
from actorvid.legacy_hashes import is_bcrypt_hash
from actorvid.media import magic
from actorvid.store import assets as asset_store
from actorvid.store import blobs
from actorvid.store import legacy as store
from actorvid.store.blobs import BlobInfo
from actorvid.store.db import Database
from actorvid.store.jobs import TERMINAL_JOB_STATUSES

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
_STAGE_OF = {"pending": "selecting", "storyboard_processing": "storyboard",
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
class Plan:
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


def _json(row: sqlite3.Row, column: str, default: Any = None, *, kind: type | None = None
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


def _ts(value: object, fallback: str) -> str:
    """An old ``YYYY-MM-DD HH:MM:SS`` (naive UTC) or ISO text as our ISO-8601 ``Z`` form."""
    if not isinstance(value, str) or not value.strip():
        return fallback
    try:
        return isoformat_z(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return fallback


def _opt_ts(value: object) -> str | None:
    return _ts(value, "") or None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: object) -> float | None:
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


class LegacyImporter:
    """One import run. ``db`` is None for a dry run (then ``target`` is only read)."""

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

    # --- the run ---------------------------------------------------------------------

    STEPS: tuple[tuple[str, str], ...] = (
        ("user", "users"), ("api_key", "api_keys"), ("client", "clients"),
        ("campaign", "campaigns"), ("asset", "assets"), ("job", "generated_videos"),
        ("sub_job", "video_sub_jobs"), ("audio", "generated_audio"))

    def totals(self) -> tuple[int, int]:
        """Rows and media bytes in the old file (for the progress bar)."""
        rows = sum(self.reader.count(t) for _, t in self.STEPS) + self.reader.count(
            "job_scenes")
        nbytes = 0
        for table, column in (("assets", "blob_data"), ("generated_videos", "video_data"),
                              ("generated_audio", "audio_data"), ("asset_blobs", "data")):
            if column in self.reader.columns(table):
                nbytes += int(self.reader.conn.execute(
                    f"SELECT coalesce(sum(length({column})), 0) FROM {table}").fetchone()[0])
        return rows, nbytes

    def run(self) -> ImportReport:
        with self._read() as conn:
            self.ledger = TargetView(conn).ledger()
        try:
            for kind, table in self.STEPS:
                prepare = getattr(self, f"_prepare_{kind}")
                for rows in self.reader.batches(table, self.batch_rows):
                    self._run_batch(kind, rows, prepare)
                if kind == "job":
                    self._sweep_scenes()
        except BaseException as exc:
            self.report.interrupted = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.report.finished_at = self._now()
            if self._view_conn is not None:
                self._view_conn.close()
        return self.report

    def _run_batch(self, kind: str, rows: list[sqlite3.Row],
                   prepare: Callable[[sqlite3.Row], Plan]) -> None:
        plans: list[Plan] = []
        staged: dict[int, dict[str, BlobInfo]] = {}
        staged_bytes = 0
        try:
            for row in rows:
                old_id = str(row["id"])
                if (kind, old_id) in self.ledger:
                    self.report.already(kind)
                    for child_kind, child_old in self._children_of(kind, row):
                        if (child_kind, child_old) in self.ledger:
                            self.report.already(child_kind)
                    if kind == "job":
                        # Scenes refused when their job came in are listed again each run.
                        for scene_id, reason in self._scenes(row["id"], None)[2]:
                            self._skip("scene", scene_id, reason)
                    self._tick(kind)
                    continue
                try:
                    plan = prepare(row)
                except Skip as exc:
                    self._skip(kind, old_id, str(exc))
                    self._tick(kind)
                    continue
                nbytes = sum(b.size for b in plan.blobs.values())
                if self.dry_run:
                    with self._read() as conn:
                        new_id = plan.dry_id(conn)
                    self._accept(plan, new_id)
                    self._tick(kind, nbytes)
                    continue
                assert self.db is not None
                staged[len(plans)] = {
                    role: blobs.write_blob(self.db, self.reader.iter_blob(
                        src.table, src.column, src.rowid), complete=False)
                    for role, src in plan.blobs.items()}
                plans.append(plan)
                staged_bytes += nbytes
                self._tick(kind, nbytes)
                if staged_bytes >= self.batch_bytes:
                    try:
                        self._commit(plans, staged)
                    finally:
                        store.discard_blobs(self.db, [s.id for by_role in staged.values()
                                                      for s in by_role.values()])
                    plans, staged, staged_bytes = [], {}, 0
            if plans:
                self._commit(plans, staged)
        finally:
            # What was staged and is still incomplete (an interrupt, a row refused inside the
            # transaction) goes; blobs committed with their rows are complete and stay.
            if staged and self.db is not None:
                store.discard_blobs(self.db, [s.id for by_role in staged.values()
                                              for s in by_role.values()])

    def _commit(self, plans: list[Plan], staged: dict[int, dict[str, BlobInfo]]
                ) -> None:
        assert self.db is not None
        done: list[tuple[Plan, str]] = []
        now = self._now()
        with self.db.write() as conn:
            for index, plan in enumerate(plans):
                conn.execute("SAVEPOINT legacy_row")
                try:
                    infos = {role: blobs.mark_complete(conn, blob)
                             for role, blob in staged.get(index, {}).items()}
                    new_id = plan.insert(conn, infos)
                    store.record_import(conn, kind=plan.kind, old_id=plan.old_id,
                                        new_id=new_id, now=now)
                    for child_kind, child_old in plan.children:
                        store.record_import(conn, kind=child_kind, old_id=child_old,
                                            new_id=child_old, now=now)
                except (Skip, sqlite3.IntegrityError) as exc:
                    conn.execute("ROLLBACK TO legacy_row")
                    conn.execute("RELEASE legacy_row")
                    reason = str(exc) if isinstance(exc, Skip) else (
                        f"refused by the new schema: {exc}")
                    self._skip(plan.kind, plan.old_id, reason)
                    continue
                conn.execute("RELEASE legacy_row")
                done.append((plan, new_id))
        # Committed: the staged blobs of accepted rows are now complete (discard skips them).
        for plan, new_id in done:
            self._accept(plan, new_id)

    def _accept(self, plan: Plan, new_id: str) -> None:
        self.ledger[(plan.kind, plan.old_id)] = new_id
        self.report.imported(plan.kind, plan.old_id, new_id)
        for child_kind, child_old in plan.children:
            self.ledger[(child_kind, child_old)] = child_old
            self.report.imported(child_kind, child_old, child_old)
        for text in plan.notes:
            self.report.note(plan.kind, plan.old_id, text)

    def _children_of(self, kind: str, row: sqlite3.Row) -> list[tuple[str, str]]:
        if kind != "job":
            return []
        return [("scene", str(s["id"])) for s in self.reader.rows_where(
            "job_scenes", "job_id", row["id"])]

    def _sweep_scenes(self) -> None:
        """Scenes not imported with a job: list them (their job was skipped or is missing)."""
        for rows in self.reader.batches("job_scenes", 500):
            for row in rows:
                key = ("scene", str(row["id"]))
                if key in self.ledger or key in self._skipped_ids:
                    continue
                job = row["job_id"]
                if self._new_of("job", job) is not None:
                    continue  # counted with its job
                exists = self.reader.rows_where("generated_videos", "id", job)
                self._skip("scene", key[1], f"its job {job} was not imported" if exists
                           else f"its job {job} does not exist in the old database")
                self._tick("scene")

    # --- users and credentials --------------------------------------------------------

    def _prepare_user(self, row: sqlite3.Row) -> Plan:
        old_id = str(row["id"])
        username = str(row["username"] or "").strip()
        email = str(row["email"] or "").strip()
        if not username or not email:
            raise Skip("username or email is empty")
        hashed = row["hashed_password"] or ""
        with self._read() as conn:
            existing = store.find_user(conn, username=username, email=email) \
                if conn is not None and TargetView(conn).has_table("users") else []
        if existing:
            same = [u for u in existing if u.username == username and u.email == email]
            if not same:
                raise Skip("its username or email belongs to another user of the new database")
            kept = same[0]
            return Plan("user", old_id, insert=lambda conn, blobs: str(kept.id),
                        dry_id=lambda conn: str(kept.id),
                        notes=[f"merged into the existing user {kept.id} (same username and "
                               "email); its password there is kept"])
        notes = [] if is_bcrypt_hash(hashed) else [
            "the password hash is not bcrypt: this user cannot log in with the old password"]
        now = self._now()

        def insert(conn: sqlite3.Connection, blobs: dict[str, BlobInfo]) -> str:
            return str(store.insert_row(conn, "users", {
                "id": self._free_int_id(conn, "users", row["id"]), "username": username,
                "email": email, "password_hash": str(hashed) or "!",
                "is_active": 1 if row["is_active"] in (1, True, "1", None) else 0,
                "is_admin": 1 if row["is_admin"] in (1, True, "1") else 0,
                "created_at": _ts(row["created_at"], now),
                "last_login": _opt_ts(row["last_login"])}))

        if row["is_admin"] in (1, True, "1") and self._run_admin is None and self.dry_run:
            self._run_admin = -1  # a placeholder owner; a dry run never inserts it
        return Plan("user", old_id, insert=insert, dry_id=self._dry_int("users", row["id"]),
                    notes=notes)

    def _prepare_api_key(self, row: sqlite3.Row) -> Plan:
        user_id = self._new_of("user", row["user_id"])
        if user_id is None:
            raise Skip(f"its user {row['user_id']} was not imported")
        if not is_bcrypt_hash(row["key_hash"]):
            raise Skip("key_hash is not a bcrypt hash")
        now = self._now()

        def insert(conn: sqlite3.Connection, blobs: dict[str, BlobInfo]) -> str:
            return str(store.insert_legacy_api_key(
                conn, user_id=int(user_id), name=str(row["name"] or "imported"),
                bcrypt_hash=row["key_hash"], is_active=row["is_active"] in (1, True, "1", None),
                created_at=_ts(row["created_at"], now), last_used=_opt_ts(row["last_used"]),
                expires_at=_opt_ts(row["expires_at"])))

        return Plan("api_key", str(row["id"]), insert=insert, dry_id=lambda conn: "(new id)")

    # --- clients and campaigns ----------------------------------------------------------

    def _text_id(self, row: sqlite3.Row, table: str) -> str:
        old_id = row["id"]
        if not isinstance(old_id, str) or not old_id.strip() or len(old_id) > 64:
            raise Skip("id is not a text id")
        with self._read() as conn:
            if conn is not None and TargetView(conn).has_table(table) and \
                    store.row_exists(conn, table, old_id):
                raise Skip(f"a {table[:-1]} with this id already exists in the new database")
        return old_id

    def _prepare_client(self, row: sqlite3.Row) -> Plan:
        client_id = self._text_id(row, "clients")
        user_id = self._new_of("user", row["user_id"])
        if user_id is None:
            raise Skip(f"its user {row['user_id']} was not imported")
        if not str(row["name"] or "").strip():
            raise Skip("name is empty")
        brand = _json(row, "brand_guidelines", kind=dict)
        metadata = _json(row, "metadata", kind=dict)
        now = self._now()

        def insert(conn: sqlite3.Connection, blobs: dict[str, BlobInfo]) -> str:
            created = _ts(row["created_at"], now)
            store.insert_row(conn, "clients", {
                "id": client_id, "user_id": int(user_id), "name": str(row["name"]),
                "description": str(row["description"] or ""), "homepage": row["homepage"],
                "brand_guidelines": _dump(brand), "metadata": _dump(metadata),
                "created_at": created, "updated_at": _ts(row["updated_at"], created)})
            return client_id

        self._owner_of[("client", client_id)] = user_id
        return Plan("client", client_id, insert=insert, dry_id=lambda conn: client_id)

    def _prepare_campaign(self, row: sqlite3.Row) -> Plan:
        campaign_id = self._text_id(row, "campaigns")
        client_id = self._new_of("client", row["client_id"])
        if client_id is None:
            raise Skip(f"its client {row['client_id']} was not imported (or never existed)")
        user_id = self._new_of("user", row["user_id"])
        if user_id is None:
            raise Skip(f"its user {row['user_id']} was not imported")
        status = row["status"] or "draft"
        if status not in ("active", "archived", "draft"):
            raise Skip(f"status {status!r} is not active, archived or draft")
        brief = _json(row, "brief")
        metadata = _json(row, "metadata")
        now = self._now()

        def insert(conn: sqlite3.Connection, blobs: dict[str, BlobInfo]) -> str:
            created = _ts(row["created_at"], now)
            store.insert_row(conn, "campaigns", {
                "id": campaign_id, "client_id": client_id, "user_id": int(user_id),
                "name": str(row["name"] or "Untitled"), "goal": str(row["goal"] or ""),
                "status": status, "product_url": row["product_url"], "brief": _dump(brief),
                "metadata": _dump(metadata), "created_at": created,
                "updated_at": _ts(row["updated_at"], created)})
            return campaign_id

        self._owner_of[("campaign", campaign_id)] = user_id
        return Plan("campaign", campaign_id, insert=insert, dry_id=lambda conn: campaign_id)

    # --- assets ------------------------------------------------------------------------

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

    def _prepare_asset(self, row: sqlite3.Row) -> Plan:
        asset_id = self._text_id(row, "assets")
        declared = row["asset_type"]
        if declared not in ASSET_TYPES:
            raise Skip(f"asset_type {declared!r} is not image, video, audio or document")
        tags = _json(row, "tags", [], kind=list)
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
        width, height = _int(row["width"]), _int(row["height"])
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
                duration=_float(row["duration"]) if sniffed.asset_type in ("video", "audio")
                else None,
                tags=tuple(tags), source_url=row["source_url"], blob_id=data.id,
                sha256=data.sha256,
                thumbnail_blob_id=infos["thumbnail"].id if "thumbnail" in infos else None,
                metadata=metadata or None, uploaded_at=_ts(row["uploaded_at"], now)))
            return asset_id

        return Plan("asset", asset_id, insert=insert, dry_id=lambda conn: asset_id,
                    blobs=blobs, notes=notes)

    # --- jobs ----------------------------------------------------------------------------

    def _job_owner(self, row: sqlite3.Row) -> tuple[str | None, str | None, int]:
        client_id, campaign_id, owner = self._owner_from(row)
        if owner is not None:
            return client_id, campaign_id, owner
        if self._owner_id is None:
            with self._read() as conn:
                found = None
                if conn is not None and TargetView(conn).has_table("users"):
                    if self.owner_name:
                        hit = conn.execute("SELECT id FROM users WHERE username = :name",
                                           {"name": self.owner_name}).fetchone()
                        found = int(hit[0]) if hit else None
                    else:
                        admin = store.first_admin(conn)
                        found = admin.id if admin else None
            # A dry run has inserted no users: the first admin this run would import.
            self._owner_id = found if found is not None else self._run_admin
        if self._owner_id is None:
            raise Skip("it has no client or campaign to tell its owner, and there is no "
                       + (f"user {self.owner_name!r}" if self.owner_name else "admin user")
                       + " to give it to (see --owner)")
        return client_id, campaign_id, self._owner_id

    @staticmethod
    def _status(raw: object) -> tuple[str, str, str | None]:
        """Our status and stage for an old status, and the error of an interrupted job."""
        raw_text = str(raw or "completed")
        mapped = STATUS_MAP.get(raw_text, "failed")
        stage = _STAGE_OF[mapped]
        if mapped in TERMINAL_JOB_STATUSES:
            return mapped, stage, None if raw_text in STATUS_MAP or mapped != "failed" else \
                f"Unknown status {raw_text!r} in the old backend"
        return "failed", stage, INTERRUPTED.format(raw=raw_text)

    def _prepare_job(self, row: sqlite3.Row) -> Plan:
        old_id = str(row["id"])
        parameters = _json(row, "parameters", {})
        if not isinstance(parameters, dict):
            parameters = {"legacy": parameters}
        metadata = _json(row, "metadata", {})
        if not isinstance(metadata, dict):
            metadata = {"value": metadata}
        storyboard_data = _json(row, "storyboard_data")
        model_id = str(row["model_id"] or "")
        if model_id in ("image-pair-workflow", "luigi-workflow"):
            job_type = "image_pairs"
        elif "property_info" in parameters:
            job_type = "property_video"
        else:
            job_type = "standard"
        has_video = row["video_data_type"] == "blob" and (row["video_data_len"] or 0) > 0
        blobs: dict[str, BlobSource] = {}
        notes = []
        if has_video:
            video = BlobSource("generated_videos", "video_data", row["_rowid"],
                               row["video_data_len"])
            sniffed = self._sniff(video)
            if sniffed is None or sniffed.asset_type != "video":
                raise Skip("video_data is not a video")
            blobs["video"] = video
        if row["thumbnail_data_type"] == "blob" and (row["thumbnail_data_len"] or 0) > 0:
            thumb = BlobSource("generated_videos", "thumbnail_data", row["_rowid"],
                               row["thumbnail_data_len"])
            if (s := self._sniff(thumb)) and s.asset_type == "image":
                blobs["thumbnail"] = thumb
            else:
                notes.append("thumbnail_data is not an image; imported without a thumbnail")
        status, stage, interrupted = self._status(row["status"])
        if interrupted and str(row["status"]) in STATUS_MAP:
            notes.append(f"was {row['status']}: imported as failed (cannot be resumed)")
        scenes, children, scene_skips = self._scenes(row["id"], storyboard_data)
        client_id, campaign_id, user_id = self._job_owner(row)
        now = self._now()
        created = _ts(row["created_at"], now)
        updated = _ts(row["updated_at"], created)
        error = interrupted or row["error_message"] or (
            metadata.get("error") if status == "failed" else None)
        legacy = {k: v for k, v in (("id", row["id"]), ("modelId", model_id),
                                    ("status", row["status"]), ("prompt", row["prompt"]),
                                    ("videoUrl", row["video_url"] or metadata.get("video_url")),
                                    ("format", row["format"]), ("duration", row["duration"]),
                                    ("metadata", metadata or None)) if v not in (None, "")}
        result: dict[str, Any] = {"legacy": legacy}
        if has_video:
            result["size"] = row["video_data_len"]
        actual = _float(row["actual_cost"]) or _float(metadata.get("total_cost"))
        storyboard = ({"scenes": scenes, "totalDuration": round(sum(
            s["duration"] for s in scenes), 3), "currency": "USD", "source": "legacy"}
            if scenes else None)

        def insert(conn: sqlite3.Connection, infos: dict[str, BlobInfo]) -> str:
            new_id = store.insert_row(conn, "jobs", {
                "id": self._free_int_id(conn, "jobs", row["id"]), "user_id": user_id,
                "client_id": client_id, "campaign_id": campaign_id, "type": job_type,
                "status": status, "stage": stage, "parameters": _dump(parameters),
                "storyboard": _dump(storyboard), "progress": "{}", "result": _dump(result),
                "video_blob_id": infos["video"].id if "video" in infos else None,
                "thumbnail_blob_id": infos["thumbnail"].id if "thumbnail" in infos else None,
                "estimated_cost": _float(row["estimated_cost"]), "actual_cost": actual,
                "provider": "replicate" if job_type != "standard" else None, "error": error,
                "approved_at": _opt_ts(row["approved_at"]), "created_at": created,
                "updated_at": updated, "completed_at": updated if status == "completed"
                else None})
            return str(new_id)

        for scene_id, reason in scene_skips:
            self._skip("scene", scene_id, reason)
        return Plan("job", old_id, insert=insert, dry_id=self._dry_int("jobs", row["id"]),
                    blobs=blobs, children=children, notes=notes)

    def _scenes(self, job_id: object, storyboard_data: Any
                ) -> tuple[list[dict[str, Any]], list[tuple[str, str]], list[tuple[str, str]]]:
        """The job's storyboard scenes (``job_scenes``, else v2 ``storyboard_data``)."""
        scenes: list[dict[str, Any]] = []
        children: list[tuple[str, str]] = []
        skips: list[tuple[str, str]] = []
        for row in self.reader.rows_where("job_scenes", "job_id", job_id, "scene_number"):
            scene_id = str(row["id"])
            if ("scene", scene_id) in self.ledger:
                continue
            try:
                assets = _json(row, "assets", [], kind=list)
                metadata = _json(row, "metadata", {}, kind=dict)
                number = _int(row["scene_number"])
                if number is None or number < 1:
                    raise Skip("scene_number is not a positive integer")
            except Skip as exc:
                skips.append((scene_id, str(exc)))
                continue
            scenes.append({
                "id": scene_id, "sceneNumber": number,
                "duration": _float(row["duration_seconds"]) or 0.0,
                "description": str(row["description"] or f"Scene {number}"),
                "script": row["script"], "shotType": row["shot_type"],
                "transition": row["transition"],
                "assets": [a for a in assets if isinstance(a, str)], "metadata": metadata})
            children.append(("scene", scene_id))
        if not scenes and not skips and isinstance(storyboard_data, list):
            # v2 jobs: [{scene: {scene_number, description, duration, image_prompt},
            # image_url, generation_status, error}]; nothing of ours to keep them by id.
            for number, entry in enumerate(storyboard_data, start=1):
                scene = entry.get("scene", {}) if isinstance(entry, dict) else {}
                if not isinstance(scene, dict):
                    continue
                scenes.append({
                    "id": None, "sceneNumber": _int(scene.get("scene_number")) or number,
                    "duration": _float(scene.get("duration")) or 0.0,
                    "description": str(scene.get("description") or f"Scene {number}"),
                    "script": None, "shotType": None, "transition": None, "assets": [],
                    "metadata": {k: v for k, v in (
                        ("imagePrompt", scene.get("image_prompt")),
                        ("imageUrl", entry.get("image_url"))) if v}})
        return scenes, children, skips

    def _prepare_sub_job(self, row: sqlite3.Row) -> Plan:
        sub_id = self._text_id(row, "sub_jobs")
        job_id = self._new_of("job", row["job_id"])
        if job_id is None:
            raise Skip(f"its job {row['job_id']} was not imported")
        number = _int(row["sub_job_number"])
        if number is None or number < 1:
            raise Skip("sub_job_number is not a positive integer")
        inputs = _json(row, "input_parameters", {})
        if not isinstance(inputs, dict):
            inputs = {"legacy": inputs}
        status = row["status"] or "pending"
        if status not in SUB_JOB_STATUSES:
            raise Skip(f"status {status!r} is not one of {', '.join(SUB_JOB_STATUSES)}")
        error = row["error_message"]
        if status in ("pending", "processing"):
            error = INTERRUPTED.format(raw=status)
            status = "failed"
        if row["video_url"]:
            inputs = {**inputs, "legacyVideoUrl": row["video_url"]}
        now = self._now()
        created = _ts(row["created_at"], now)
        started = _opt_ts(row["started_at"])

        def insert(conn: sqlite3.Connection, infos: dict[str, BlobInfo]) -> str:
            store.insert_row(conn, "sub_jobs", {
                "id": sub_id, "job_id": int(job_id), "scene_number": number,
                "first_asset_id": row["image1_asset_id"],
                "last_asset_id": row["image2_asset_id"],
                "prompt": str(inputs.get("prompt") or ""),
                "duration": _float(row["duration_seconds"]) or _float(inputs.get("duration"))
                or 0.0,
                "model": str(row["model_id"] or ""), "provider": "replicate",
                "provider_id": row["replicate_prediction_id"], "status": status,
                "attempts": (_int(row["retry_count"]) or 0) + (1 if started else 0),
                "failures": 1 if status == "failed" else 0,
                "cost": _float(row["actual_cost"]), "error": error, "input": _dump(inputs),
                "started_at": started, "completed_at": _opt_ts(row["completed_at"]),
                "created_at": created, "updated_at": _ts(row["updated_at"], created)})
            return sub_id

        return Plan("sub_job", sub_id, insert=insert, dry_id=lambda conn: sub_id)

    def _prepare_audio(self, row: sqlite3.Row) -> Plan:
        old_id = str(row["id"])
        parameters = _json(row, "parameters", {})
        metadata = _json(row, "metadata", {})
        if not (row["audio_data_type"] == "blob" and (row["audio_data_len"] or 0) > 0):
            raise Skip("audio_data is empty: there is no audio to import")
        audio = BlobSource("generated_audio", "audio_data", row["_rowid"],
                           row["audio_data_len"])
        sniffed = self._sniff(audio)
        if sniffed is None or not (sniffed.asset_type == "audio" or sniffed.may_be_audio):
            raise Skip("audio_data is not audio")
        status, stage, interrupted = self._status(row["status"])
        client_id, campaign_id, user_id = self._job_owner(row)
        duration = _float(row["duration"])
        now = self._now()
        created = _ts(row["created_at"], now)
        audio_view: dict[str, Any] = {
            "status": "completed" if status == "completed" else status,
            "duration": duration, "format": sniffed.format,
            "contentType": sniffed.content_type, "provider": "legacy"}
        legacy = {k: v for k, v in (("id", row["id"]), ("modelId", row["model_id"]),
                                    ("status", row["status"]), ("audioUrl", row["audio_url"]),
                                    ("metadata", metadata or None)) if v not in (None, "")}

        def insert(conn: sqlite3.Connection, infos: dict[str, BlobInfo]) -> str:
            new_id = store.insert_row(conn, "jobs", {
                "id": self._free_int_id(conn, "jobs", row["id"]), "user_id": user_id,
                "client_id": client_id, "campaign_id": campaign_id, "type": "audio",
                "status": status, "stage": stage,
                "parameters": _dump({"scenes": [], "model_id": row["model_id"],
                                     "prompt": row["prompt"], "legacy": parameters}),
                "storyboard": _dump({"scenes": [], "totalDuration": duration or 0.0}),
                "progress": "{}",
                "result": _dump({"duration": duration, "audio": audio_view,
                                 "size": infos["audio"].size, "legacy": legacy}),
                "audio_blob_id": infos["audio"].id, "error": interrupted,
                "created_at": created, "updated_at": created,
                "completed_at": created if status == "completed" else None})
            audio_view["audioUrl"] = f"/api/v3/audio/{new_id}/download"
            conn.execute("UPDATE jobs SET result = :result WHERE id = :id",
                         {"result": _dump({"duration": duration, "audio": audio_view,
                                           "size": infos["audio"].size, "legacy": legacy}),
                          "id": new_id})
            return str(new_id)

        return Plan("audio", old_id, insert=insert, dry_id=self._dry_int("jobs", row["id"]),
                    blobs={"audio": audio})


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)


@dataclass
class ImportOutcome:
    report: ImportReport
    report_path: Path


def run_import(old_db: Path, target: Path, *, dry_run: bool = False,
               report_path: Path | None = None, owner: str | None = None,
               batch_rows: int = BATCH_ROWS, batch_bytes: int = BATCH_BYTES,
               progress: Callable[[ProgressEvent], None] | None = None,
               stream: Any = None) -> ImportOutcome:
    """Import ``old_db`` into ``target`` (``--dry-run``: only read both) and write the report.

    The report is written even when the run is interrupted (``interrupted`` says why), so an
    operator sees how far it got; running again continues from there.
    """
    from actorvid.legacy.report import ProgressBar
    from actorvid.store.db import open_database

    if old_db.resolve() == target.resolve():
        raise ValueError("the old database and ACTORVID_DB are the same file")
    reader = LegacyReader(old_db)
    db = None if dry_run else open_database(target, read_pool_size=2)
    report_path = report_path or default_report_path(target)
    try:
        importer = LegacyImporter(reader, target=target, db=db, dry_run=dry_run, owner=owner,
                                  batch_rows=batch_rows, batch_bytes=batch_bytes)
        rows, nbytes = importer.totals()
        bar = ProgressBar(rows, nbytes, stream=stream)

        def on_progress(event: ProgressEvent) -> None:
            bar.rows, bar.bytes = event.rows, event.bytes
            bar.update(label=event.kind)
            if progress is not None:
                progress(event)

        importer.progress = on_progress
        try:
            report = importer.run()
        finally:
            importer.report.write(report_path)
            bar.finish(importer.report.summary() + (
                " (interrupted)" if importer.report.interrupted else ""))
    finally:
        reader.close()
        if db is not None:
            db.close()
    return ImportOutcome(report, report_path)
