"""Previews: a free local animatic of a storyboard (issue 19).

One row per preview. A job's preview has ``job_id`` (at most one row per job: a new storyboard
version replaces the row, so "at most one preview per job" is the schema's, not a lock's); a
draft preview from ``POST /jobs/dry-run`` has none, an owner, its inputs (to render it again
after a restart) and ``expires_at``. ``rendered_for`` is the fingerprint of the storyboard and
creative options it shows. Deleting the job deletes the row (cascade) and the row's blob
(trigger), as for sub-jobs.
"""

SQL = """
CREATE TABLE previews (
    id              TEXT PRIMARY KEY,
    job_id          INTEGER UNIQUE REFERENCES jobs(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    rendered_for    TEXT NOT NULL,
    status          TEXT NOT NULL
                    CHECK (status IN ('rendering', 'ready', 'failed', 'cancelled')),
    blob_id         TEXT REFERENCES blobs(id),
    duration        REAL,
    error           TEXT,
    input           TEXT NOT NULL DEFAULT '{}',
    expires_at      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX idx_previews_expires ON previews(expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX idx_previews_status ON previews(status);
CREATE TRIGGER previews_delete_blobs AFTER DELETE ON previews
BEGIN
    DELETE FROM blobs WHERE id = OLD.blob_id;
END;
CREATE TRIGGER previews_replace_blobs AFTER UPDATE OF blob_id ON previews
WHEN OLD.blob_id IS NOT NULL AND OLD.blob_id IS NOT NEW.blob_id
BEGIN
    DELETE FROM blobs WHERE id = OLD.blob_id;
END;
"""
