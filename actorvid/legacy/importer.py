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

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actorvid.legacy.account_rows import AccountRows
from actorvid.legacy.asset_rows import AssetRows
from actorvid.legacy.job_rows import JobRows
from actorvid.legacy.reader import LegacyReader
from actorvid.legacy.report import ImportReport
from actorvid.legacy.rows import (
    BATCH_BYTES,
    BATCH_ROWS,
    ProgressEvent,
    RowImport,
    Skip,
    TargetView,
    default_report_path,
)
from actorvid.store import blobs
from actorvid.store import legacy as store
from actorvid.store.blobs import BlobInfo

__all__ = ["ImportOutcome", "LegacyImporter", "ProgressEvent", "run_import"]


class LegacyImporter(AccountRows, AssetRows, JobRows):
    """One import run: every kind of row (the mixins), in dependency order, in batches."""

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
                   prepare: Callable[[sqlite3.Row], RowImport]) -> None:
        plans: list[RowImport] = []
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

    def _commit(self, plans: list[RowImport], staged: dict[int, dict[str, BlobInfo]]
                ) -> None:
        assert self.db is not None
        done: list[tuple[RowImport, str]] = []
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

    def _accept(self, plan: RowImport, new_id: str) -> None:
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
