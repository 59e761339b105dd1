-- 0010_token_inventory: the /tokens page and a rotation's link.
-- Twin of sqlite/0010_token_inventory.sql.

ALTER TABLE tokens ADD COLUMN replaced_by BIGINT REFERENCES tokens (id) ON DELETE SET NULL;

CREATE INDEX tokens_live_expires ON tokens (expires_at) WHERE revoked_at IS NULL;
CREATE INDEX tokens_live_used ON tokens (last_used_at, expires_at) WHERE revoked_at IS NULL;
CREATE INDEX tokens_revoked ON tokens (expires_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX tokens_user_live ON tokens (user_id, expires_at) WHERE revoked_at IS NULL;
CREATE INDEX tokens_name ON tokens (name_key);
CREATE INDEX tokens_replaced_by ON tokens (replaced_by) WHERE replaced_by IS NOT NULL;
