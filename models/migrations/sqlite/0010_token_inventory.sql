-- 0010_token_inventory: the /tokens page and a rotation's link.
--   replaced_by: the token a rotation made to replace this one; the old one
--   works until its expires_at (the overlap), then expires.
--   The partial indexes split the tokens revoked or not, in expiry (the
--   default order) and last-use order, and per owner for owner filters.

ALTER TABLE tokens ADD COLUMN replaced_by INTEGER REFERENCES tokens (id) ON DELETE SET NULL;

CREATE INDEX tokens_live_expires ON tokens (expires_at) WHERE revoked_at IS NULL;
CREATE INDEX tokens_live_used ON tokens (last_used_at, expires_at) WHERE revoked_at IS NULL;
CREATE INDEX tokens_revoked ON tokens (expires_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX tokens_user_live ON tokens (user_id, expires_at) WHERE revoked_at IS NULL;
CREATE INDEX tokens_name ON tokens (name_key);
CREATE INDEX tokens_replaced_by ON tokens (replaced_by) WHERE replaced_by IS NOT NULL;
