-- 0019_token_allowlists: the address ranges a token may be used from, and
-- the addresses it was used from (see models/token_ip.go). allowed_cidrs is
-- space-separated canonical prefixes; NULL is any address, as for every
-- token made before this migration. token_addresses keeps, per token, the
-- distinct addresses of the last 30 days (at most 64), written with the
-- buffered last uses; the suggestions are computed from it.
-- Twin of postgres/0019_token_allowlists.sql.

ALTER TABLE tokens ADD COLUMN allowed_cidrs TEXT;

CREATE TABLE token_addresses (
    token_id   INTEGER  NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    ip         TEXT     NOT NULL,
    uses       INTEGER  NOT NULL,
    first_seen DATETIME NOT NULL,
    last_seen  DATETIME NOT NULL,
    PRIMARY KEY (token_id, ip)
) WITHOUT ROWID;
CREATE INDEX token_addresses_last_seen ON token_addresses (last_seen);
