-- 0020_token_inactivity: inactivity auto-revoke (see models/token_inactivity.go).
-- token_inactivity_notices records each warning: one per token, idle period
-- (inactive_since, the token's last use or, never used, its creation) and
-- setting (days). The primary key makes the sweep idempotent: a warning is
-- inserted with ON CONFLICT DO NOTHING in the same transaction as its
-- outbox rows, so however many sweeps or replicas run, it is sent once. A
-- use starts a new idle period, which may be warned again. revoke_at is
-- when the sweep may revoke the token: never sooner than 7 days after the
-- warning.
-- The settings now move data_revision, so the overview's counts, which
-- depend on the inactivity setting, are kept with the token counts.
-- Twin of postgres/0020_token_inactivity.sql.

CREATE TABLE token_inactivity_notices (
    token_id       INTEGER  NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    inactive_since DATETIME NOT NULL,
    days           INTEGER  NOT NULL CHECK (days IN (30, 60, 90, 180, 365)),
    warned_at      DATETIME NOT NULL,
    revoke_at      DATETIME NOT NULL,
    PRIMARY KEY (token_id, inactive_since, days)
) WITHOUT ROWID;

CREATE TRIGGER settings_rev_ins AFTER INSERT ON settings BEGIN UPDATE data_revision SET n = n + 1; END;
CREATE TRIGGER settings_rev_upd AFTER UPDATE ON settings BEGIN UPDATE data_revision SET n = n + 1; END;
CREATE TRIGGER settings_rev_del AFTER DELETE ON settings BEGIN UPDATE data_revision SET n = n + 1; END;
