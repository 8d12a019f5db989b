"""An old backend's ``scenes.db``, built from its documented schema.

The DDL below is written from that description, not copied from the old code. The rows cover
the odd cases an import meets: asset bytes in ``asset_blobs`` and inline ``blob_data``, an
asset with no bytes anywhere, poisoned rows (a type we refuse, tags that are not a list, JSON
that does not parse), a campaign of a client that never existed, an interrupted job, a finished
job whose video is in ``video_data``, generated audio, bcrypt users and a bcrypt API key.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import pytest

from tests.fakes.media import make_audio, make_image, make_video

OLD_SCHEMA = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT UNIQUE NOT NULL,
    email TEXT UNIQUE NOT NULL, hashed_password TEXT NOT NULL, is_active BOOLEAN DEFAULT 1,
    is_admin BOOLEAN DEFAULT 0, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_login TIMESTAMP);
CREATE INDEX idx_users_username ON users(username);
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY, key_hash TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id), is_active BOOLEAN DEFAULT 1,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, last_used TIMESTAMP, expires_at TEXT);
CREATE TABLE clients (
    id TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), name TEXT NOT NULL,
    description TEXT, homepage TEXT, brand_guidelines TEXT, metadata TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE campaigns (
    id TEXT PRIMARY KEY, client_id TEXT NOT NULL REFERENCES clients(id),
    user_id INTEGER NOT NULL REFERENCES users(id), name TEXT NOT NULL, goal TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('active', 'archived', 'draft')),
    product_url TEXT, brief TEXT, metadata TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE assets (
    id TEXT PRIMARY KEY, user_id INTEGER REFERENCES users(id), client_id TEXT, campaign_id TEXT,
    name TEXT NOT NULL, asset_type TEXT NOT NULL, url TEXT NOT NULL, size INTEGER,
    uploaded_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, format TEXT NOT NULL, tags TEXT,
    width INTEGER, height INTEGER, duration INTEGER, thumbnail_url TEXT, waveform_url TEXT,
    page_count INTEGER, blob_data BLOB, blob_id TEXT, source_url TEXT, thumbnail_blob_id TEXT);
CREATE TABLE asset_blobs (
    id TEXT PRIMARY KEY, data BLOB NOT NULL, content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE generated_videos (
    id INTEGER PRIMARY KEY AUTOINCREMENT, prompt TEXT NOT NULL, video_url TEXT NOT NULL,
    model_id TEXT NOT NULL, parameters TEXT NOT NULL, status TEXT DEFAULT 'completed',
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, collection TEXT, metadata TEXT,
    download_attempted BOOLEAN DEFAULT 0, download_retries INTEGER DEFAULT 0,
    download_error TEXT, video_data BLOB, thumbnail_data BLOB, progress TEXT,
    storyboard_data TEXT, approved BOOLEAN DEFAULT 0, approved_at TIMESTAMP,
    estimated_cost REAL DEFAULT 0, actual_cost REAL DEFAULT 0, error_message TEXT,
    updated_at TIMESTAMP, download_count INTEGER DEFAULT 0, refinement_count INTEGER DEFAULT 0,
    brief_id TEXT, client_id TEXT, campaign_id TEXT,
    format TEXT DEFAULT '16:9' CHECK (format IN ('9:16', '1:1', '16:9')),
    duration INTEGER DEFAULT 30 CHECK (duration IN (15, 30, 60)),
    views INTEGER DEFAULT 0, clicks INTEGER DEFAULT 0, ctr REAL DEFAULT 0,
    conversions INTEGER DEFAULT 0);
CREATE TABLE job_scenes (
    id TEXT PRIMARY KEY, job_id INTEGER NOT NULL, scene_number INTEGER NOT NULL,
    duration_seconds REAL NOT NULL, description TEXT NOT NULL, script TEXT, shot_type TEXT,
    transition TEXT, assets TEXT, metadata TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (job_id, scene_number));
CREATE TABLE video_sub_jobs (
    id TEXT PRIMARY KEY, job_id INTEGER NOT NULL, sub_job_number INTEGER NOT NULL,
    image1_asset_id TEXT NOT NULL, image2_asset_id TEXT NOT NULL,
    replicate_prediction_id TEXT, model_id TEXT NOT NULL, input_parameters TEXT,
    status TEXT DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    progress REAL DEFAULT 0, video_url TEXT, video_blob_id TEXT, duration_seconds REAL,
    estimated_cost REAL DEFAULT 0, actual_cost REAL DEFAULT 0, error_message TEXT,
    retry_count INTEGER DEFAULT 0, started_at TIMESTAMP, completed_at TIMESTAMP,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (job_id, sub_job_number));
CREATE TABLE generated_audio (
    id INTEGER PRIMARY KEY, prompt TEXT NOT NULL, audio_url TEXT NOT NULL,
    model_id TEXT NOT NULL, parameters TEXT NOT NULL, status TEXT DEFAULT 'completed',
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, collection TEXT, metadata TEXT,
    download_attempted BOOLEAN DEFAULT 0, download_retries INTEGER DEFAULT 0,
    download_error TEXT, audio_data BLOB, duration REAL, brief_id TEXT, client_id TEXT,
    campaign_id TEXT);
"""

OLD_PASSWORD = "correct horse battery staple"
OLD_KEY = "sk_" + "A" * 20 + "legacy-key-0123456789abc"
OLD_KEY_2 = "sk_" + "B" * 20 + "legacy-key-0123456789abc"

C1, C2, C3 = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
              "33333333-3333-4333-8333-333333333333")
K1, K2 = "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"


@dataclass
class OldDb:
    path: Path
    # sha256 of the bytes each importable old row must arrive with
    asset_sha: dict[str, str] = field(default_factory=dict)
    thumb_sha: dict[str, str] = field(default_factory=dict)
    video_bytes: bytes = b""
    video_thumb_sha: str = ""
    audio_sha: str = ""

    def file_sha(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("legacy-media")
    return {
        "png": make_image(root / "a.png", width=64, height=48).read_bytes(),
        "jpg": make_image(root / "b.jpg", width=48, height=32, pattern=False).read_bytes(),
        "thumb": make_image(root / "t.jpg", width=32, height=24).read_bytes(),
        "mp4": make_video(root / "v.mp4", duration=1.0, width=64, height=48).read_bytes(),
        # The final video: big enough for several chunk rows at a small chunk size.
        "final": make_video(root / "f.mp4", duration=2.0, width=160, height=120).read_bytes(),
        "mp3": make_audio(root / "s.mp3", duration=1.0).read_bytes(),
    }


def build_old_db(path: Path, media: dict[str, bytes]) -> OldDb:
    # Cost 4 keeps the tests fast; the hashes are real bcrypt ($2b$) all the same.
    def hashpw(secret: str) -> str:
        return bcrypt.hashpw(secret.encode(), bcrypt.gensalt(rounds=4)).decode()

    old = OldDb(path)
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    q = conn.execute
    q("INSERT INTO users (id, username, email, hashed_password, is_admin, created_at) "
      "VALUES (1, 'alice', 'alice@old.example', ?, 1, '2025-01-02 03:04:05')",
      (hashpw(OLD_PASSWORD),))
    q("INSERT INTO users (id, username, email, hashed_password) "
      "VALUES (2, 'bob', 'bob@old.example', ?)", (hashpw("bob-password"),))
    q("INSERT INTO api_keys (id, key_hash, name, user_id) VALUES (1, ?, 'ci', 1)",
      (hashpw(OLD_KEY),))
    q("INSERT INTO api_keys (id, key_hash, name, user_id) VALUES (2, ?, 'laptop', 2)",
      (hashpw(OLD_KEY_2),))
    q("INSERT INTO api_keys (id, key_hash, name, user_id) VALUES (3, 'plain', 'bad', 1)")

    q("INSERT INTO clients (id, user_id, name, brand_guidelines, metadata) "
      "VALUES (?, 1, 'Acme', ?, '{}')", (C1, json.dumps({"colors": ["#f00"]})))
    q("INSERT INTO clients (id, user_id, name, brand_guidelines) VALUES (?, 2, 'Broken', "
      "'{not json')", (C2,))
    q("INSERT INTO clients (id, user_id, name) VALUES (?, 99, 'Orphan')", (C3,))
    q("INSERT INTO campaigns (id, client_id, user_id, name, goal, status, brief) "
      "VALUES (?, ?, 1, 'Spring', 'sell', 'active', '{\"k\": 1}')", (K1, C1))
    q("INSERT INTO campaigns (id, client_id, user_id, name, goal) "
      "VALUES (?, 'no-such-client', 1, 'Ghost', 'none')", (K2,))

    q("INSERT INTO asset_blobs (id, data, content_type, size_bytes) VALUES "
      "('blob-png', ?, 'image/png', ?)", (media["png"], len(media["png"])))
    q("INSERT INTO asset_blobs (id, data, content_type, size_bytes) VALUES "
      "('blob-thumb', ?, 'image/jpeg', ?)", (media["thumb"], len(media["thumb"])))
    q("INSERT INTO asset_blobs (id, data, content_type, size_bytes) VALUES "
      "('blob-mp4', ?, 'video/mp4', ?)", (media["mp4"], len(media["mp4"])))

    def asset(asset_id: str, asset_type: str, fmt: str, *, blob_id: str | None = None,
              blob_data: bytes | None = None, tags: str | None = '["product_shot"]',
              thumb: str | None = None, campaign: str | None = K1) -> None:
        q("INSERT INTO assets (id, user_id, client_id, campaign_id, name, asset_type, url, "
          "format, tags, width, height, blob_data, blob_id, thumbnail_blob_id, uploaded_at) "
          "VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, 64, 48, ?, ?, ?, '2025-02-03 04:05:06')",
          (asset_id, C1, campaign, f"{asset_id}.{fmt}", asset_type,
           f"/api/v3/assets/{asset_id}/data", fmt, tags, blob_data, blob_id, thumb))

    asset("as-png", "image", "png", blob_id="blob-png", thumb="blob-thumb")
    asset("as-inline", "image", "jpg", blob_data=media["jpg"])  # bytes say jpeg
    asset("as-video", "video", "mp4", blob_id="blob-mp4")
    asset("as-mp3", "audio", "mp3", blob_data=media["mp3"], campaign=None)
    asset("as-nobytes", "image", "png", blob_id="blob-gone")
    asset("as-badtype", "spreadsheet", "xls", blob_data=media["png"])
    asset("as-badtags", "image", "png", blob_data=media["png"], tags='{"not": "a list"}')
    asset("as-garbage", "image", "png", blob_data=b"this is not an image at all")
    old.asset_sha = {"as-png": sha(media["png"]), "as-inline": sha(media["jpg"]),
                     "as-video": sha(media["mp4"]), "as-mp3": sha(media["mp3"])}
    old.thumb_sha = {"as-png": sha(media["thumb"])}

    q("INSERT INTO generated_videos (id, prompt, video_url, model_id, parameters, status, "
      "metadata, video_data, thumbnail_data, client_id, campaign_id, actual_cost, "
      "created_at, updated_at) VALUES (1, 'pairs', '', 'image-pair-workflow', ?, "
      "'completed', ?, ?, ?, ?, ?, 1.25, '2025-03-01 10:00:00', '2025-03-01 10:05:00')",
      (json.dumps({"campaign_id": K1, "num_pairs": 2}),
       json.dumps({"video_url": "/api/v3/videos/1/combined", "total_cost": 1.25}),
       media["final"], media["thumb"], C1, K1))
    q("INSERT INTO generated_videos (id, prompt, video_url, model_id, parameters, status, "
      "campaign_id) VALUES (2, 'half done', '', 'image-pair-workflow', '{}', "
      "'sub_job_processing', ?)", (K1,))
    q("INSERT INTO generated_videos (id, prompt, video_url, model_id, parameters, status) "
      "VALUES (3, 'broken', '', 'v3-job', '{\"context\": ', 'completed')")
    q("INSERT INTO generated_videos (id, prompt, video_url, model_id, parameters, status) "
      "VALUES (4, 'stopped', '', 'v3-job', '{\"context\": {}}', 'canceled')")
    old.video_bytes = media["final"]
    old.video_thumb_sha = sha(media["thumb"])

    for number, (scene_id, assets) in enumerate(
            [("sc-1", '["as-png"]'), ("sc-2", "[]"), ("sc-bad", "[broken")], start=1):
        q("INSERT INTO job_scenes (id, job_id, scene_number, duration_seconds, description, "
          "shot_type, transition, assets, metadata) VALUES (?, 1, ?, 3.5, ?, 'wide', 'cut', "
          "?, '{}')", (scene_id, number, f"Scene {number}", assets))
    q("INSERT INTO job_scenes (id, job_id, scene_number, duration_seconds, description) "
      "VALUES ('sc-of-3', 3, 1, 2, 'of a broken job')")
    q("INSERT INTO job_scenes (id, job_id, scene_number, duration_seconds, description) "
      "VALUES ('sc-of-77', 77, 1, 2, 'of no job')")

    for sub_id, job, number, status in (("sj-1", 1, 1, "completed"), ("sj-2", 1, 2,
                                                                        "completed"),
                                        ("sj-3", 2, 1, "processing"), ("sj-4", 3, 1, "failed")):
        q("INSERT INTO video_sub_jobs (id, job_id, sub_job_number, image1_asset_id, "
          "image2_asset_id, replicate_prediction_id, model_id, input_parameters, status, "
          "actual_cost, error_message, started_at) VALUES (?, ?, ?, 'as-png', 'as-inline', ?, "
          "'veo3', ?, ?, 0.6, ?, '2025-03-01 10:01:00')",
          (sub_id, job, number, f"pred-{sub_id}" if status == "completed" else None,
           json.dumps({"prompt": f"camera move {number}", "duration": 6}), status,
           "boom" if status == "failed" else None))

    q("INSERT INTO generated_audio (id, prompt, audio_url, model_id, parameters, audio_data, "
      "duration, campaign_id) VALUES (1, 'upbeat', '/api/audio/1/data', 'meta/musicgen', "
      "'{}', ?, 1.0, ?)", (media["mp3"], K1))
    q("INSERT INTO generated_audio (id, prompt, audio_url, model_id, parameters) "
      "VALUES (2, 'lost', '', 'meta/musicgen', '{}')")
    old.audio_sha = sha(media["mp3"])
    conn.commit()
    conn.close()
    return old


@pytest.fixture
def old_db(tmp_path: Path, media: dict[str, bytes]) -> OldDb:
    (tmp_path / "old").mkdir()
    return build_old_db(tmp_path / "old" / "scenes.db", media)
