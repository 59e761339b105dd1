-- 0001_init: accounts, teams, console sessions and instance settings.

CREATE TABLE teams (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    -- name_key is the case-folded name; uniqueness is case-insensitive for
    -- every script, which COLLATE NOCASE (ASCII only) would not give.
    name_key    TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    builtin     INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);

-- The built-in Public team: every user is always a member; it cannot be
-- renamed or deleted. The triggers hold that even against a bug in the store.
INSERT INTO teams (id, name, name_key, description, builtin, created_at, updated_at)
VALUES (1, 'Public', 'public', 'Every user belongs to this team.', 1,
        strftime('%Y-%m-%d %H:%M:%S+00:00', 'now'), strftime('%Y-%m-%d %H:%M:%S+00:00', 'now'));

CREATE TRIGGER teams_builtin_no_delete BEFORE DELETE ON teams
WHEN OLD.builtin = 1
BEGIN
    SELECT RAISE(ABORT, 'the built-in team cannot be deleted');
END;

CREATE TRIGGER teams_builtin_no_rename BEFORE UPDATE OF name, name_key, builtin ON teams
WHEN OLD.builtin = 1 AND (NEW.name <> OLD.name OR NEW.name_key <> OLD.name_key OR NEW.builtin <> OLD.builtin)
BEGIN
    SELECT RAISE(ABORT, 'the built-in team cannot be renamed');
END;

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT    NOT NULL CHECK (kind IN ('human', 'service')),
    name                TEXT    NOT NULL,
    -- user_id is the derived identifier of a service user (name@service);
    -- humans are identified by their email. UNIQUE allows many NULLs.
    user_id             TEXT    UNIQUE,
    email               TEXT,
    email_key           TEXT    UNIQUE,
    role                TEXT    NOT NULL CHECK (role IN ('admin', 'manager', 'member')),
    status              TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
    description         TEXT    NOT NULL DEFAULT '',
    owner_user_id       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    owner_team_id       INTEGER REFERENCES teams (id) ON DELETE SET NULL,
    password_hash       TEXT,
    password_changed_at DATETIME,
    last_active_at      DATETIME,
    created_by          INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME NOT NULL,
    deactivated_at      DATETIME,
    CHECK (kind = 'human' OR (user_id IS NOT NULL AND password_hash IS NULL AND email IS NULL)),
    CHECK (kind = 'service' OR (email IS NOT NULL AND email_key IS NOT NULL))
);

CREATE INDEX users_status_name ON users (status, name);
CREATE INDEX users_kind_role_status ON users (kind, role, status);
CREATE INDEX users_created_at ON users (created_at);
CREATE INDEX users_last_active_at ON users (last_active_at);

CREATE TABLE user_teams (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, team_id)
);
CREATE INDEX user_teams_team ON user_teams (team_id, user_id);

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    -- token_hash is SHA-256 of the random id carried by the cookie: a copy of
    -- this table does not let anyone sign in.
    token_hash   TEXT    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    created_at   DATETIME NOT NULL,
    last_seen_at DATETIME NOT NULL,
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);
CREATE INDEX sessions_created ON sessions (created_at);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at DATETIME NOT NULL
);
