"""Jobs and their sub-jobs (one provider prediction each), with blobs deleted with the row."""

SQL = """
CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id         TEXT REFERENCES clients(id) ON DELETE SET NULL,
    campaign_id       TEXT REFERENCES campaigns(id) ON DELETE SET NULL,
    type              TEXT NOT NULL
                      CHECK (type IN ('standard', 'image_pairs', 'property_video', 'audio')),
    -- The seven statuses clients see; ``stage`` is the finer internal step.
    status            TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'storyboard_processing', 'storyboard_ready',
                                        'video_processing', 'completed', 'failed',
                                        'cancelled')),
    -- selecting, storyboard, awaiting_approval, rendering, stitching, soundtrack, storing,
    -- done; no CHECK so a later workflow can add a step without a table rebuild.
    stage             TEXT NOT NULL DEFAULT 'selecting',
    parameters        TEXT NOT NULL DEFAULT '{}',
    storyboard        TEXT,
    progress          TEXT NOT NULL DEFAULT '{}',
    result            TEXT,
    video_blob_id     TEXT REFERENCES blobs(id),
    thumbnail_blob_id TEXT REFERENCES blobs(id),
    audio_blob_id     TEXT REFERENCES blobs(id),
    estimated_cost    REAL,
    actual_cost       REAL,
    provider          TEXT,
    error             TEXT,
    approved_at       TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    completed_at      TEXT
);
CREATE INDEX idx_jobs_user_created ON jobs(user_id, created_at);
CREATE INDEX idx_jobs_campaign ON jobs(campaign_id);
CREATE INDEX idx_jobs_client ON jobs(client_id);
-- Recovery reads the non-terminal jobs at every start.
CREATE INDEX idx_jobs_active ON jobs(status)
    WHERE status NOT IN ('completed', 'failed', 'cancelled');

CREATE TABLE sub_jobs (
    id              TEXT PRIMARY KEY,
    job_id          INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    scene_number    INTEGER NOT NULL,
    -- Asset ids are kept even if the asset is deleted later: they describe what was rendered.
    first_asset_id  TEXT,
    last_asset_id   TEXT,
    prompt          TEXT NOT NULL DEFAULT '',
    duration        REAL NOT NULL DEFAULT 0,
    model           TEXT NOT NULL DEFAULT '',
    provider        TEXT,
    -- The prediction id, written the moment the create call answers, before any polling.
    provider_id     TEXT,
    -- Written before each create call; after a crash with a tag but no provider_id, the
    -- prediction is looked up by this tag before a second one is created.
    attempt_tag     TEXT,
    -- The provider id whose output expired and was re-created (at most once).
    recreated_from  TEXT,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'processing', 'completed', 'failed',
                                      'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    clip_blob_id    TEXT REFERENCES blobs(id),
    cost            REAL,
    error           TEXT,
    input           TEXT NOT NULL DEFAULT '{}',
    started_at      TEXT,
    completed_at    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (job_id, scene_number)
);
CREATE INDEX idx_sub_jobs_provider_id ON sub_jobs(provider_id);

CREATE TRIGGER jobs_delete_blobs AFTER DELETE ON jobs
BEGIN
    DELETE FROM blobs WHERE id IN (OLD.video_blob_id, OLD.thumbnail_blob_id, OLD.audio_blob_id);
END;

CREATE TRIGGER sub_jobs_delete_blobs AFTER DELETE ON sub_jobs
BEGIN
    DELETE FROM blobs WHERE id = OLD.clip_blob_id;
END;
"""
