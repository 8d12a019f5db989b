"""Music segments become sub-jobs, and local predictions outlive the process that made them.

- ``sub_jobs.kind``: ``clip`` (a video scene) or ``music`` (one MusicGen segment of the
  soundtrack chain). A music segment is a prediction like a clip: it gets the same row, attempt
  tag and prediction id written before polling, so a restart during the chain resumes it instead
  of paying for it again. SQLite cannot change a table's UNIQUE constraint in place, so the table
  is rebuilt (the documented 12-step way; dropping a table fires no trigger, so no clip blob is
  touched).
- ``local_predictions``: the offline provider's predictions (inputs, status, output blob), so a
  restart resumes them the way Replicate keeps running a prediction while we are down.
"""

SQL = """
CREATE TABLE sub_jobs_new (
    id              TEXT PRIMARY KEY,
    job_id          INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL DEFAULT 'clip' CHECK (kind IN ('clip', 'music')),
    scene_number    INTEGER NOT NULL,
    first_asset_id  TEXT,
    last_asset_id   TEXT,
    prompt          TEXT NOT NULL DEFAULT '',
    duration        REAL NOT NULL DEFAULT 0,
    model           TEXT NOT NULL DEFAULT '',
    provider        TEXT,
    provider_id     TEXT,
    attempt_tag     TEXT,
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
    failures        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (job_id, kind, scene_number)
);
INSERT INTO sub_jobs_new (id, job_id, kind, scene_number, first_asset_id, last_asset_id, prompt,
                          duration, model, provider, provider_id, attempt_tag, recreated_from,
                          status, attempts, clip_blob_id, cost, error, input, started_at,
                          completed_at, created_at, updated_at, failures)
SELECT id, job_id, 'clip', scene_number, first_asset_id, last_asset_id, prompt, duration, model,
       provider, provider_id, attempt_tag, recreated_from, status, attempts, clip_blob_id, cost,
       error, input, started_at, completed_at, created_at, updated_at, failures
FROM sub_jobs;
DROP TABLE sub_jobs;
ALTER TABLE sub_jobs_new RENAME TO sub_jobs;
CREATE INDEX idx_sub_jobs_provider_id ON sub_jobs(provider_id);
CREATE TRIGGER sub_jobs_delete_blobs AFTER DELETE ON sub_jobs
BEGIN
    DELETE FROM blobs WHERE id = OLD.clip_blob_id;
END;

CREATE TABLE local_predictions (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('video', 'music')),
    tag             TEXT NOT NULL,
    input           TEXT NOT NULL,
    status          TEXT NOT NULL
                    CHECK (status IN ('starting', 'processing', 'succeeded', 'failed',
                                      'canceled')),
    error           TEXT,
    output_blob_id  TEXT REFERENCES blobs(id),
    created_at      TEXT NOT NULL,
    completed_at    TEXT
);
CREATE INDEX idx_local_predictions_tag ON local_predictions(tag);
CREATE TRIGGER local_predictions_delete_blobs AFTER DELETE ON local_predictions
BEGIN
    DELETE FROM blobs WHERE id = OLD.output_blob_id;
END;
"""
