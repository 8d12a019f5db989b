"""Import of an old backend's database: what arrives, what is refused, repeatability."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from actorvid.legacy.importer import ProgressEvent, run_import
from actorvid.store import blobs
from actorvid.store.db import open_database
from tests.legacy.conftest import C1, K1, OldDb, sha

TABLES = ("users", "clients", "campaigns", "assets", "jobs", "sub_jobs", "blobs",
          "blob_chunks", "legacy_imports", "legacy_api_keys", "api_keys")


def counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def blob_sha(path: Path, blob_id: str) -> str:
    db = open_database(path)
    try:
        return sha(blobs.read_blob_bytes(db, blob_id))
    finally:
        db.close()


def rows(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_every_good_row_arrives_with_identical_bytes(old_db: OldDb, tmp_path: Path) -> None:
    before = old_db.file_sha()
    target = tmp_path / "new.db"
    out = run_import(old_db.path, target, report_path=tmp_path / "r.json", batch_rows=3,
                     stream=io.StringIO())
    assert old_db.file_sha() == before  # the old file is only read

    for asset_id, digest in old_db.asset_sha.items():
        (row,) = rows(target, "SELECT * FROM assets WHERE id = ?", (asset_id,))
        assert row["sha256"] == digest
        assert blob_sha(target, row["blob_id"]) == digest
    (png,) = rows(target, "SELECT * FROM assets WHERE id = 'as-png'")
    assert blob_sha(target, png["thumbnail_blob_id"]) == old_db.thumb_sha["as-png"]
    assert (png["user_id"], png["client_id"], png["campaign_id"]) == (1, C1, K1)
    assert json.loads(png["tags"]) == ["product_shot"]
    (inline,) = rows(target, "SELECT * FROM assets WHERE id = 'as-inline'")
    # Type, format and content type come from the bytes, not the old row's "jpg".
    assert (inline["asset_type"], inline["format"], inline["content_type"]) == (
        "image", "jpeg", "image/jpeg")
    (mp3,) = rows(target, "SELECT * FROM assets WHERE id = 'as-mp3'")
    assert (mp3["asset_type"], mp3["content_type"]) == ("audio", "audio/mpeg")

    (job,) = rows(target, "SELECT * FROM jobs WHERE id = 1")
    assert (job["type"], job["status"], job["stage"]) == ("image_pairs", "completed", "done")
    assert blob_sha(target, job["video_blob_id"]) == sha(old_db.video_bytes)
    assert blob_sha(target, job["thumbnail_blob_id"]) == old_db.video_thumb_sha
    assert job["actual_cost"] == 1.25 and job["campaign_id"] == K1
    storyboard = json.loads(job["storyboard"])
    assert [(s["id"], s["sceneNumber"], s["assets"]) for s in storyboard["scenes"]] == [
        ("sc-1", 1, ["as-png"]), ("sc-2", 2, [])]
    (interrupted,) = rows(target, "SELECT * FROM jobs WHERE id = 2")
    assert interrupted["status"] == "failed"
    assert "Interrupted by the move" in interrupted["error"]
    assert "sub_job_processing" in interrupted["error"]
    (cancelled,) = rows(target, "SELECT * FROM jobs WHERE id = 4")
    assert cancelled["status"] == "cancelled" and cancelled["user_id"] == 1  # the admin

    subs = {r["id"]: r for r in rows(target, "SELECT * FROM sub_jobs")}
    assert set(subs) == {"sj-1", "sj-2", "sj-3"}
    assert (subs["sj-1"]["provider_id"], subs["sj-1"]["status"], subs["sj-1"]["cost"]) == (
        "pred-sj-1", "completed", 0.6)
    assert subs["sj-1"]["prompt"] == "camera move 1"
    assert subs["sj-3"]["status"] == "failed" and "Interrupted" in subs["sj-3"]["error"]

    # The old audio id 1 is taken by the old video job 1: it gets a new id, in the mapping.
    audio_id = int(out.report.mapping["audio"]["1"])
    assert audio_id != 1
    (audio,) = rows(target, "SELECT * FROM jobs WHERE id = ?", (audio_id,))
    assert audio["type"] == "audio" and audio["status"] == "completed"
    assert blob_sha(target, audio["audio_blob_id"]) == old_db.audio_sha

    (legacy_key,) = rows(target, "SELECT * FROM legacy_api_keys WHERE name = 'ci'")
    assert legacy_key["bcrypt_hash"].startswith("$2b$") and legacy_key["migrated_at"] is None
    (user,) = rows(target, "SELECT * FROM users WHERE username = 'alice'")
    assert user["id"] == 1 and user["password_hash"].startswith("$2b$") and user["is_admin"]
    assert user["created_at"] == "2025-01-02T03:04:05.000Z"

    # No blob is left incomplete or unreferenced.
    assert rows(target, "SELECT id FROM blobs WHERE complete = 0") == []
    assert rows(target, """SELECT id FROM blobs WHERE id NOT IN (
        SELECT blob_id FROM assets UNION SELECT thumbnail_blob_id FROM assets
        UNION SELECT video_blob_id FROM jobs UNION SELECT thumbnail_blob_id FROM jobs
        UNION SELECT audio_blob_id FROM jobs)""") == []

    report = json.loads((tmp_path / "r.json").read_text())
    assert report["counts"]["asset"] == {"new": 4, "already": 0, "skipped": 4}
    assert report["mapping"]["job"] == {"1": "1", "2": "2", "4": "4"}
    assert report["mapping"]["user"] == {"1": "1", "2": "2"}
    notes = {(n["kind"], n["id"]): n["note"] for n in report["notes"]}
    assert "image/jpeg" in notes[("asset", "as-inline")]


def test_bad_rows_are_listed_with_reasons(old_db: OldDb, tmp_path: Path) -> None:
    out = run_import(old_db.path, tmp_path / "new.db", report_path=tmp_path / "r.json",
                     stream=io.StringIO())
    skipped = {(s["kind"], s["id"]): s["reason"] for s in out.report.skipped}
    assert skipped == {
        ("api_key", "3"): "key_hash is not a bcrypt hash",
        ("client", "22222222-2222-4222-8222-222222222222"): "brand_guidelines is not valid JSON",
        ("client", "33333333-3333-4333-8333-333333333333"): "its user 99 was not imported",
        ("campaign", "aaaaaaaa-0000-4000-8000-000000000002"):
            "its client no-such-client was not imported (or never existed)",
        ("asset", "as-nobytes"): "no bytes anywhere: asset_blobs row blob-gone is missing or "
                                 "empty; no inline blob_data",
        ("asset", "as-badtype"): "asset_type 'spreadsheet' is not image, video, audio or "
                                 "document",
        ("asset", "as-badtags"): "tags is not a JSON list",
        ("asset", "as-garbage"): "its bytes are not a supported image, video, audio or document",
        ("job", "3"): "parameters is not valid JSON",
        ("scene", "sc-bad"): "assets is not valid JSON",
        ("scene", "sc-of-3"): "its job 3 was not imported",
        ("scene", "sc-of-77"): "its job 77 does not exist in the old database",
        ("sub_job", "sj-4"): "its job 3 was not imported",
        ("audio", "2"): "audio_data is empty: there is no audio to import",
    }
    target = tmp_path / "new.db"
    for table, old_id in (("assets", "as-nobytes"), ("assets", "as-badtags"),
                          ("clients", "22222222-2222-4222-8222-222222222222"),
                          ("sub_jobs", "sj-4")):
        assert rows(target, f"SELECT id FROM {table} WHERE id = ?", (old_id,)) == []


def test_a_second_run_changes_nothing(old_db: OldDb, tmp_path: Path) -> None:
    target = tmp_path / "new.db"
    first = run_import(old_db.path, target, report_path=tmp_path / "1.json",
                       stream=io.StringIO())
    after_first = counts(target)
    second = run_import(old_db.path, target, report_path=tmp_path / "2.json",
                        stream=io.StringIO())
    assert counts(target) == after_first
    assert first.report.total_new == 19
    assert second.report.total_new == 0
    report = json.loads((tmp_path / "2.json").read_text())
    assert all(c["new"] == 0 for c in report["counts"].values())
    assert report["counts"]["asset"]["already"] == 4
    assert len(report["skipped"]) == len(first.report.skipped)


class Boom(Exception):
    pass


@pytest.mark.parametrize("stop_after", [3, 12, 20])
def test_an_interrupted_run_is_completed_by_the_next(old_db: OldDb, tmp_path: Path,
                                                     stop_after: int) -> None:
    reference = tmp_path / "reference.db"
    run_import(old_db.path, reference, report_path=tmp_path / "ref.json", stream=io.StringIO())
    target = tmp_path / "new.db"

    def explode(event: ProgressEvent) -> None:
        if event.rows >= stop_after:
            raise Boom(f"stopped after {event.rows} rows")

    # Small batches and a small chunk budget: the interrupt lands mid-batch, after media
    # was staged but before its transaction.
    with pytest.raises(Boom):
        run_import(old_db.path, target, report_path=tmp_path / "1.json", batch_rows=4,
                   progress=explode, stream=io.StringIO())
    partial = json.loads((tmp_path / "1.json").read_text())
    assert partial["interrupted"].startswith("Boom")
    assert rows(target, "SELECT id FROM blobs WHERE complete = 0") == []

    run_import(old_db.path, target, report_path=tmp_path / "2.json", stream=io.StringIO())
    assert counts(target) == counts(reference)
    got = {r[0] for r in rows(target, "SELECT sha256 FROM blobs")}
    want = {r[0] for r in rows(reference, "SELECT sha256 FROM blobs")}
    assert got == want
    ledger = {(r[0], r[1]) for r in rows(target, "SELECT kind, old_id FROM legacy_imports")}
    assert ledger == {(r[0], r[1]) for r in rows(reference,
                                                "SELECT kind, old_id FROM legacy_imports")}


def test_dry_run_writes_nothing(old_db: OldDb, tmp_path: Path) -> None:
    target = tmp_path / "new.db"
    dry = run_import(old_db.path, target, dry_run=True, report_path=tmp_path / "dry.json",
                     stream=io.StringIO())
    assert not target.exists()  # not even created
    real = run_import(old_db.path, target, report_path=tmp_path / "real.json",
                      stream=io.StringIO())
    assert dry.report.counts == real.report.counts
    assert dry.report.skipped == real.report.skipped
    before = counts(target)
    data = target.read_bytes()
    again = run_import(old_db.path, target, dry_run=True, report_path=tmp_path / "dry2.json",
                       stream=io.StringIO())
    assert again.report.total_new == 0
    assert counts(target) == before and target.read_bytes() == data


def test_progress_is_quiet_without_a_tty_but_for_a_summary(old_db: OldDb,
                                                         tmp_path: Path) -> None:
    stream = io.StringIO()
    run_import(old_db.path, tmp_path / "new.db", report_path=tmp_path / "r.json",
               stream=stream)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imported: user 2")

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    run_import(old_db.path, tmp_path / "other.db", report_path=tmp_path / "r2.json",
               stream=tty)
    assert "\r[" in tty.getvalue() and " rows " in tty.getvalue()


def test_the_cli_prints_the_report_path(old_db: OldDb, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from actorvid.cli import main

    target = tmp_path / "data" / "actorvid.db"
    monkeypatch.setenv("ACTORVID_DB", str(target))
    monkeypatch.chdir(tmp_path)
    assert main(["import-legacy", str(old_db.path), "--dry-run"]) == 0
    out = capsys.readouterr()
    report = Path(out.out.strip())
    assert report.parent == target.parent and report.exists()
    assert not target.exists()
    assert "would import" in out.err and "skipped" in out.err
    assert main(["import-legacy", str(tmp_path / "missing.db")]) == 2
