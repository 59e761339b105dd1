-- 0007_throttle: failed sign-in and API-authentication counters kept in the
-- database, for deployments where several replicas must share them (see
-- models.SharedLimiter). The key is hashed: it is an email address or a
-- client address, and the table only needs to recognise it.

CREATE TABLE throttle_failures (
    key_hash     TEXT     PRIMARY KEY,
    window_start DATETIME NOT NULL,
    failures     INTEGER  NOT NULL
);
CREATE INDEX throttle_failures_window ON throttle_failures (window_start);
