-- 0006_audit_daily: per-day counts kept in step with the audit log, so the
-- summary cards and the activity chart read a few hundred rows instead of
-- every event of the period; and indexes found missing at a million events.

CREATE TABLE audit_daily_actions (
    day       TEXT    NOT NULL,              -- YYYY-MM-DD, UTC
    action    TEXT    NOT NULL,
    automated INTEGER NOT NULL,              -- 1 for service and system actors
    n         INTEGER NOT NULL,
    PRIMARY KEY (day, action, automated)
);

CREATE TABLE audit_daily_actors (
    day         TEXT    NOT NULL,
    actor_kind  TEXT    NOT NULL,
    actor_id    INTEGER NOT NULL,            -- 0 for system and anonymous actors
    actor_label TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (day, actor_kind, actor_id, actor_label)
);

INSERT INTO audit_daily_actions (day, action, automated, n)
SELECT substr(occurred_at, 1, 10), action, actor_kind IN ('service', 'system'), COUNT(*)
FROM audit_events GROUP BY 1, 2, 3;

INSERT INTO audit_daily_actors (day, actor_kind, actor_id, actor_label, n)
SELECT substr(occurred_at, 1, 10), actor_kind, COALESCE(actor_id, 0), actor_label, COUNT(*)
FROM audit_events GROUP BY 1, 2, 3, 4;

-- One actor and one action: the planner otherwise walks every event of the
-- action to find the actor's.
CREATE INDEX audit_actor_action ON audit_events (actor_id, action, id);

-- The Users list: search reads this index instead of every row, and the
-- sort by last activity (descending, where NULLs fall last on their own)
-- walks an index.
CREATE INDEX users_status_search ON users (status, search_text);
