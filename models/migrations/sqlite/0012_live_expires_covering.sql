-- 0012_live_expires_covering: the working tokens' expiry index also holds
-- each token's id and owner, so a list walked in expiry order checks its
-- owner filter (a team, a role) without reading the token rows.
-- Twin of postgres/0012_live_expires_covering.sql.

DROP INDEX tokens_live_expires;
CREATE INDEX tokens_live_expires ON tokens (expires_at, id, user_id) WHERE revoked_at IS NULL;
-- The planner weighs the new index by its statistics, as it did the old.
ANALYZE tokens;
