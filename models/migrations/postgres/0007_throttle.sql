-- 0007_throttle: failed sign-in and API-authentication counters shared by
-- every replica (see models.SharedLimiter). Twin of sqlite/0007_throttle.sql.

CREATE TABLE throttle_failures (
    key_hash     TEXT        PRIMARY KEY,
    window_start TIMESTAMPTZ NOT NULL,
    failures     INTEGER     NOT NULL
);
CREATE INDEX throttle_failures_window ON throttle_failures (window_start);
