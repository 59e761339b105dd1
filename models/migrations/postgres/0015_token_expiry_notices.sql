-- 0015_token_expiry_notices: which expiry notifications each token has had
-- (see models/token_expiry.go). The primary key is what makes the sweep
-- idempotent: a notice is inserted with ON CONFLICT DO NOTHING in the same
-- transaction as its outbox rows, so however many sweeps or replicas run,
-- one token and threshold is notified once.
-- Twin of sqlite/0015_token_expiry_notices.sql.

CREATE TABLE token_expiry_notices (
    token_id  BIGINT      NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    threshold TEXT        NOT NULL CHECK (threshold IN ('7d', '1d', 'expired')),
    sent_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (token_id, threshold)
);
