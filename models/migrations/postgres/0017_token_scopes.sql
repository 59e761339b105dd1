-- 0017_token_scopes: the scopes a token was given (see models/token_scopes.go),
-- space-separated in a canonical order: Warden's in its table's order, then
-- downstream ones sorted. NULL is a token without scopes, which has all that
-- its user's role allows, as every token made before this migration does.
-- The auth path reads it with the token row it already reads, and parses it
-- once per cached authentication.
-- Twin of sqlite/0017_token_scopes.sql.

ALTER TABLE tokens ADD COLUMN scopes TEXT;
