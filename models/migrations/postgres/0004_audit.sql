-- 0004_audit: the append-only, hash-chained audit log. Twin of
-- sqlite/0004_audit.sql. Ids are handed out by the store under the writer
-- lock (they are part of the hash), so the column has no identity.

CREATE TABLE audit_events (
    id           BIGINT PRIMARY KEY,
    occurred_at  TIMESTAMPTZ NOT NULL,
    actor_kind   TEXT    NOT NULL,
    actor_id     BIGINT,                      -- no foreign key: history outlives what it names
    actor_label  TEXT    NOT NULL,
    token_id     BIGINT,
    action       TEXT    NOT NULL,
    outcome      TEXT    NOT NULL CHECK (outcome IN ('success', 'denied', 'failed')),
    reason       TEXT    NOT NULL DEFAULT '',
    target_kind  TEXT    NOT NULL DEFAULT '',
    target_id    BIGINT,
    target_label TEXT    NOT NULL DEFAULT '',
    changes      TEXT    NOT NULL DEFAULT '',
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT '',
    request_id   TEXT    NOT NULL DEFAULT '',
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL
);

CREATE INDEX audit_actor ON audit_events (actor_id, id);
CREATE INDEX audit_action ON audit_events (action, id);
CREATE INDEX audit_target ON audit_events (target_kind, target_id, id);
CREATE INDEX audit_outcome ON audit_events (outcome, id);
CREATE INDEX audit_token ON audit_events (token_id, id);
CREATE INDEX audit_time ON audit_events (occurred_at);
CREATE INDEX audit_actor_label ON audit_events (actor_label, id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END
$$;

CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
