"""Assets: uploaded or fetched media with their bytes (and thumbnail) in the blob store."""

SQL = """
CREATE TABLE assets (
    id                TEXT PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id         TEXT REFERENCES clients(id) ON DELETE CASCADE,
    campaign_id       TEXT REFERENCES campaigns(id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    asset_type        TEXT NOT NULL CHECK (asset_type IN ('image', 'video', 'audio', 'document')),
    -- Both decided by the sniffed bytes (actorvid.media.magic), never by the client.
    format            TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    size              INTEGER NOT NULL,
    width             INTEGER,
    height            INTEGER,
    duration          REAL,
    tags              TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    source_url        TEXT,
    blob_id           TEXT NOT NULL REFERENCES blobs(id),
    sha256            TEXT NOT NULL,
    thumbnail_blob_id TEXT REFERENCES blobs(id),
    metadata          TEXT,
    uploaded_at       TEXT NOT NULL
);
CREATE INDEX idx_assets_user_uploaded ON assets(user_id, uploaded_at);
CREATE INDEX idx_assets_campaign ON assets(campaign_id, uploaded_at);
CREATE INDEX idx_assets_client ON assets(client_id, uploaded_at);

-- Deleting an asset (directly or by cascade from its campaign or client) deletes its bytes.
CREATE TRIGGER assets_delete_blobs AFTER DELETE ON assets
BEGIN
    DELETE FROM blobs WHERE id IN (OLD.blob_id, OLD.thumbnail_blob_id);
END;
"""
