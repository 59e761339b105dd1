-- 0003_tokens: service tokens. Only the SHA-256 of a token is stored.

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    -- name_key makes names unique per user regardless of case.
    name_key     TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    token_hash   TEXT    NOT NULL UNIQUE,
    hint         TEXT    NOT NULL,
    expires_at   DATETIME,          -- NULL: never expires
    revoked_at   DATETIME,
    revoked_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    last_used_at DATETIME,
    last_used_ip TEXT,
    last_used_ua TEXT,
    created_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at   DATETIME NOT NULL,
    UNIQUE (user_id, name_key)
);
CREATE INDEX tokens_user_created ON tokens (user_id, created_at);
CREATE INDEX tokens_expires ON tokens (expires_at);
CREATE INDEX tokens_last_used ON tokens (last_used_at);
