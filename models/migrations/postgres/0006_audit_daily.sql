-- 0006_audit_daily: per-day counts kept in step with the audit log, and
-- indexes found missing at a million events. Twin of sqlite/0006; the
-- free-text search of the Users list uses a trigram index here.

CREATE TABLE audit_daily_actions (
    day       TEXT    NOT NULL,              -- YYYY-MM-DD, UTC
    action    TEXT    NOT NULL,
    automated INTEGER NOT NULL,              -- 1 for service and system actors
    n         BIGINT  NOT NULL,
    PRIMARY KEY (day, action, automated)
);

CREATE TABLE audit_daily_actors (
    day         TEXT    NOT NULL,
    actor_kind  TEXT    NOT NULL,
    actor_id    BIGINT  NOT NULL,            -- 0 for system and anonymous actors
    actor_label TEXT    NOT NULL,
    n           BIGINT  NOT NULL,
    PRIMARY KEY (day, actor_kind, actor_id, actor_label)
);

INSERT INTO audit_daily_actions (day, action, automated, n)
SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), action,
       CASE WHEN actor_kind IN ('service', 'system') THEN 1 ELSE 0 END, COUNT(*)
FROM audit_events GROUP BY 1, 2, 3;

INSERT INTO audit_daily_actors (day, actor_kind, actor_id, actor_label, n)
SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), actor_kind, COALESCE(actor_id, 0), actor_label, COUNT(*)
FROM audit_events GROUP BY 1, 2, 3, 4;

CREATE INDEX audit_actor_action ON audit_events (actor_id, action, id);

-- Substring search over search_text (LIKE '%…%') needs trigrams; pg_trgm
-- ships with PostgreSQL and is a trusted extension, so the database owner
-- may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_search_trgm ON users USING gin (search_text gin_trgm_ops);
CREATE INDEX users_status_last_active_desc ON users (status, last_active_at DESC NULLS LAST, id DESC);
