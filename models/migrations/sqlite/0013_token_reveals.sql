-- 0013_token_reveals: a console-generated token waits here, sealed, for the
-- one page that shows it (see models/token_reveal.go). sealed is the secret
-- under AES-GCM with a key derived from the server's cookie key and the
-- session's cookie token, which this database does not hold (it keeps only
-- the token's hash), so a copy of it cannot open the secret. sealed is
-- cleared when shown or after 10 minutes; the row stays a day longer so a
-- reload can still name the token.
-- Twin of postgres/0013_token_reveals.sql.

CREATE TABLE token_reveals (
    id         TEXT     PRIMARY KEY,                -- random, in the page's URL
    session_id INTEGER  NOT NULL,                   -- no foreign key: the row outlives a sign-out, to say "shown once"
    token_id   INTEGER  NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    sealed     BLOB,                                -- NULL once shown or expired
    created_at DATETIME NOT NULL,
    shown_at   DATETIME
);
CREATE INDEX token_reveals_created ON token_reveals (created_at);
CREATE INDEX token_reveals_token ON token_reveals (token_id);
