-- 0004_audit: the append-only, hash-chained audit log.

CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY,
    occurred_at  DATETIME NOT NULL,
    actor_kind   TEXT    NOT NULL,            -- human, service, system, anonymous
    actor_id     INTEGER,                     -- no foreign key: history outlives what it names
    actor_label  TEXT    NOT NULL,            -- snapshot: user_id, email, "system", or the email typed
    token_id     INTEGER,                     -- the token an API caller used
    action       TEXT    NOT NULL,            -- service_user.create, token.revoke, auth.login_failed, …
    outcome      TEXT    NOT NULL CHECK (outcome IN ('success', 'denied', 'failed')),
    reason       TEXT    NOT NULL DEFAULT '',
    target_kind  TEXT    NOT NULL DEFAULT '',
    target_id    INTEGER,
    target_label TEXT    NOT NULL DEFAULT '',
    changes      TEXT    NOT NULL DEFAULT '', -- JSON: {"field": {"before": …, "after": …}}
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT '',
    request_id   TEXT    NOT NULL DEFAULT '',
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL
);

-- Newest first is ORDER BY id DESC (ids are handed out in time order under
-- the write lock); each filter has an index ending in id for keyset paging.
CREATE INDEX audit_actor ON audit_events (actor_id, id);
CREATE INDEX audit_action ON audit_events (action, id);
CREATE INDEX audit_target ON audit_events (target_kind, target_id, id);
CREATE INDEX audit_outcome ON audit_events (outcome, id);
CREATE INDEX audit_token ON audit_events (token_id, id);
CREATE INDEX audit_time ON audit_events (occurred_at);
CREATE INDEX audit_actor_label ON audit_events (actor_label, id);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
