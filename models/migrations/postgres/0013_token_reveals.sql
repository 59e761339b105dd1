-- 0013_token_reveals: a console-generated token waits here, sealed, for the
-- one page that shows it (see models/token_reveal.go).
-- Twin of sqlite/0013_token_reveals.sql.

CREATE TABLE token_reveals (
    id         TEXT        PRIMARY KEY,
    session_id BIGINT      NOT NULL,
    token_id   BIGINT      NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    sealed     BYTEA,
    created_at TIMESTAMPTZ NOT NULL,
    shown_at   TIMESTAMPTZ
);
CREATE INDEX token_reveals_created ON token_reveals (created_at);
CREATE INDEX token_reveals_token ON token_reveals (token_id);
