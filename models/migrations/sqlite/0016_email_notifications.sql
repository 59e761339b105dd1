-- 0016_email_notifications: token.expiring and token.expired by email
-- (see models/email_outbox.go and models/email_delivery.go).
-- users.notify_emails is a service user's own list of addresses to notify
-- besides its owner: at most 10, each checked, newline-separated ('' = none).
-- email_deliveries is the outbox: one message (to all its recipients) per
-- event, written in the same transaction as the sweep's notice, sent by a
-- worker that retries with the webhooks' backoff. It holds no secret.
-- Twin of postgres/0016_email_notifications.sql.

ALTER TABLE users ADD COLUMN notify_emails TEXT NOT NULL DEFAULT '';

CREATE TABLE email_deliveries (
    id              INTEGER  PRIMARY KEY,
    event_type      TEXT     NOT NULL,
    token_id        INTEGER  REFERENCES tokens (id) ON DELETE SET NULL,
    recipients      TEXT     NOT NULL,                    -- newline-separated addresses
    subject         TEXT     NOT NULL,
    text_body       TEXT     NOT NULL,
    html_body       TEXT     NOT NULL,
    status          TEXT     NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER  NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    claimed_until   DATETIME,                             -- a worker's lease while it sends
    last_error      TEXT     NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    sent_at         DATETIME
);
CREATE INDEX email_deliveries_due ON email_deliveries (status, next_attempt_at);
CREATE INDEX email_deliveries_token ON email_deliveries (token_id);
