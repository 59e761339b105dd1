-- 0008_audit_daily_actor_actions: per-day counts of each actor's events per
-- action, kept in step with the audit log like audit_daily_actors, so a
-- summary filtered by action (and period) finds its top actor without
-- reading events. The key leads with the action: such a summary reads one
-- range of days per chosen action.

CREATE TABLE audit_daily_actor_actions (
    action      TEXT    NOT NULL,
    day         TEXT    NOT NULL,            -- YYYY-MM-DD, UTC
    actor_kind  TEXT    NOT NULL,
    actor_id    INTEGER NOT NULL,            -- 0 for system and anonymous actors
    actor_label TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (action, day, actor_kind, actor_id, actor_label)
);

INSERT INTO audit_daily_actor_actions (action, day, actor_kind, actor_id, actor_label, n)
SELECT action, substr(occurred_at, 1, 10), actor_kind, COALESCE(actor_id, 0), actor_label, COUNT(*)
FROM audit_events GROUP BY 1, 2, 3, 4, 5;
