-- 0020_token_inactivity: inactivity auto-revoke (see models/token_inactivity.go).
-- One warning per token, idle period and setting; the primary key makes
-- the sweep idempotent across sweeps and replicas. The settings now move
-- data_revision, so the overview's counts are kept with the token counts.
-- Twin of sqlite/0020_token_inactivity.sql.

CREATE TABLE token_inactivity_notices (
    token_id       BIGINT      NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    inactive_since TIMESTAMPTZ NOT NULL,
    days           INTEGER     NOT NULL CHECK (days IN (30, 60, 90, 180, 365)),
    warned_at      TIMESTAMPTZ NOT NULL,
    revoke_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (token_id, inactive_since, days)
);

CREATE TRIGGER settings_rev AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON settings
    FOR EACH STATEMENT EXECUTE FUNCTION warden_bump_revision();
