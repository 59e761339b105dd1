-- 0002_users_teams: what the Users list sorts and searches on, and one-time
-- set-password links for people.

-- team_count is kept by the store in the same transaction as the
-- memberships, so sorting by teams needs no per-row subquery.
ALTER TABLE users ADD COLUMN team_count INTEGER NOT NULL DEFAULT 0;
-- search_text is the lower-cased name, user_id and email: the free-text
-- search scans one narrow column instead of three.
ALTER TABLE users ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

UPDATE users SET
    team_count = (SELECT COUNT(*) FROM user_teams ut WHERE ut.user_id = users.id),
    search_text = lower(name || ' ' || COALESCE(user_id, '') || ' ' || COALESCE(email, ''));

DROP INDEX users_status_name;
CREATE INDEX users_status_name ON users (status, name COLLATE NOCASE, id);
CREATE INDEX users_status_created ON users (status, created_at, id);
CREATE INDEX users_status_last_active ON users (status, last_active_at, id);
CREATE INDEX users_status_role ON users (status, role, id);
CREATE INDEX users_status_kind ON users (status, kind, id);
CREATE INDEX users_status_team_count ON users (status, team_count, id);

CREATE TABLE password_links (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT    NOT NULL UNIQUE,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL
);
CREATE INDEX password_links_user ON password_links (user_id);
