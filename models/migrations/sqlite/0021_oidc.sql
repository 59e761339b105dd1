-- 0021_oidc: single sign-on for administrators with OpenID Connect (issue 20).
-- A person signed in through the identity provider is keyed by the issuer
-- and the subject it gives, never by email; break_glass marks accounts made
-- by `warden admin create`, which may use a password even when password
-- sign-in is off (--allow-break-glass). sso_nonces keeps the nonce of each
-- accepted ID token until the token's sign-in window has passed, so the
-- same ID token cannot sign anyone in twice.
-- Twin of postgres/0021_oidc.sql.

ALTER TABLE users ADD COLUMN sso_issuer TEXT;
ALTER TABLE users ADD COLUMN sso_subject TEXT;
ALTER TABLE users ADD COLUMN break_glass INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_sso ON users (sso_issuer, sso_subject) WHERE sso_issuer IS NOT NULL;

-- Administrators created on the command line before this migration are the
-- break-glass accounts they were made as; the audit log says which.
UPDATE users SET break_glass = 1
WHERE kind = 'human' AND id IN (
    SELECT target_id FROM audit_events
    WHERE action = 'user.create' AND actor_kind = 'system' AND actor_label = 'command line' AND target_kind = 'user'
);

CREATE TABLE sso_nonces (
    nonce_hash TEXT     PRIMARY KEY,
    expires_at DATETIME NOT NULL
);
CREATE INDEX sso_nonces_expires ON sso_nonces (expires_at);
