"""What was imported from the old Python backend, and its bcrypt API keys until first use."""

SQL = """
-- One row per imported old row, written in the same transaction as the row itself, so a
-- second (or interrupted) import run knows exactly what is already here.
CREATE TABLE legacy_imports (
    kind        TEXT NOT NULL,
    old_id      TEXT NOT NULL,
    new_id      TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (kind, old_id)
);

-- Old API keys are salted bcrypt hashes, so they cannot be looked up by hash. They wait here
-- until a request presents one; it is then checked (rate-limited) and moved to api_keys.
CREATE TABLE legacy_api_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    bcrypt_hash TEXT NOT NULL,
    is_active   INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    last_used   TEXT,
    expires_at  TEXT,
    migrated_at TEXT,
    api_key_id  INTEGER REFERENCES api_keys(id) ON DELETE SET NULL
);
-- The candidates an unknown sk_ key is checked against.
CREATE INDEX idx_legacy_api_keys_pending ON legacy_api_keys(last_used)
    WHERE migrated_at IS NULL AND is_active = 1;
"""
