-- 0022_owner_indexes: a team's page lists the service users it owns, and
-- deleting a user or a team clears the owner of what they owned (ON DELETE
-- SET NULL). Both read users by owner, which scanned every user.
-- Twin of postgres/0022_owner_indexes.sql.

CREATE INDEX users_owner_team ON users (owner_team_id) WHERE owner_team_id IS NOT NULL;
CREATE INDEX users_owner_user ON users (owner_user_id) WHERE owner_user_id IS NOT NULL;
