-- 0014_webhooks: lifecycle notifications as signed webhooks, from an outbox
-- (see models/webhooks.go and models/webhook_delivery.go).
-- webhook_endpoints.secret and previous_secret are the signing secrets under
-- AES-GCM with a key derived from a server-held key (the cookie encryption
-- key), never in clear: a copy of this table alone cannot sign a webhook.
-- webhook_deliveries is the outbox: one row per event and endpoint, written
-- in the same transaction as the change and its audit event.
-- Twin of postgres/0014_webhooks.sql.

CREATE TABLE webhook_endpoints (
    id                    INTEGER  PRIMARY KEY,
    url                   TEXT     NOT NULL,
    description           TEXT     NOT NULL DEFAULT '',
    events                TEXT     NOT NULL DEFAULT '',  -- space-separated event types; '' = all
    enabled               INTEGER  NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    secret                BLOB     NOT NULL,             -- nonce, then the AES-GCM ciphertext
    previous_secret       BLOB,                          -- the secret a rotation replaced, still signing
    previous_secret_until DATETIME,                      -- until then
    failing_since         DATETIME,                      -- first failure since the last success
    disabled_reason       TEXT     NOT NULL DEFAULT '',
    created_at            DATETIME NOT NULL,
    updated_at            DATETIME NOT NULL
);

CREATE TABLE webhook_deliveries (
    id               INTEGER  PRIMARY KEY,
    endpoint_id      INTEGER  NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    msg_id           TEXT     NOT NULL UNIQUE,            -- the Standard Webhooks webhook-id
    event_type       TEXT     NOT NULL,
    payload          TEXT     NOT NULL,                   -- the JSON body, never a secret
    status           TEXT     NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER  NOT NULL DEFAULT 0,
    next_attempt_at  DATETIME NOT NULL,
    claimed_until    DATETIME,                            -- a worker's lease while it sends
    last_status_code INTEGER,
    last_error       TEXT     NOT NULL DEFAULT '',
    last_duration_ms INTEGER,
    response_excerpt TEXT     NOT NULL DEFAULT '',        -- the response body's first 1 KB
    created_at       DATETIME NOT NULL,
    delivered_at     DATETIME
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
