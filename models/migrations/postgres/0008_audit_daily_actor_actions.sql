-- 0008_audit_daily_actor_actions: per-day counts of each actor's events per
-- action, kept in step with the audit log. Twin of sqlite/0008.

CREATE TABLE audit_daily_actor_actions (
    action      TEXT    NOT NULL,
    day         TEXT    NOT NULL,            -- YYYY-MM-DD, UTC
    actor_kind  TEXT    NOT NULL,
    actor_id    BIGINT  NOT NULL,            -- 0 for system and anonymous actors
    actor_label TEXT    NOT NULL,
    n           BIGINT  NOT NULL,
    PRIMARY KEY (action, day, actor_kind, actor_id, actor_label)
);

INSERT INTO audit_daily_actor_actions (action, day, actor_kind, actor_id, actor_label, n)
SELECT action, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), actor_kind, COALESCE(actor_id, 0), actor_label, COUNT(*)
FROM audit_events GROUP BY 1, 2, 3, 4, 5;
