-- 0009_revision_counts_search: three things kept in step by triggers, so
-- they also follow a change made outside Warden (an operator's UPDATE):
--   data_revision moves on every change to users, tokens, teams and team
--   memberships; the token-authentication cache is valid while it holds.
--   user_counts counts users by kind, role and status, and team_counts each
--   team's members so, for the overview and the Users list's totals.
--   users_fts indexes the words of search_text (name, user_id and email,
--   lower-cased, accents removed, split into words by the store) for the
--   Users search. FTS4: mattn/go-sqlite3 compiles it in by default.

CREATE TABLE data_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO data_revision (id, n) VALUES (1, 0);

CREATE TRIGGER users_rev_ins AFTER INSERT ON users BEGIN UPDATE data_revision SET n = n + 1; END;
CREATE TRIGGER users_rev_upd AFTER UPDATE ON users BEGIN UPDATE data_revision SET n = n + 1; END;
CREATE TRIGGER users_rev_del AFTER DELETE ON users BEGIN UPDATE data_revision SET n = n + 1; END;
CREATE TRIGGER tokens_rev_ins AFTER INSERT ON tokens BEGIN UPDATE data_revision SET n = n + 1; END;
CREATE TRIGGER tokens_rev_upd AFTER UPDATE ON tokens BEGIN UPDATE data_revision SET n = n + 1; END;
CREATE TRIGGER tokens_rev_del AFTER DELETE ON tokens BEGIN UPDATE data_revision SET n = n + 1; END;
CREATE TRIGGER teams_rev_ins AFTER INSERT ON teams BEGIN UPDATE data_revision SET n = n + 1; END;
CREATE TRIGGER teams_rev_upd AFTER UPDATE ON teams BEGIN UPDATE data_revision SET n = n + 1; END;
CREATE TRIGGER teams_rev_del AFTER DELETE ON teams BEGIN UPDATE data_revision SET n = n + 1; END;
CREATE TRIGGER user_teams_rev_ins AFTER INSERT ON user_teams BEGIN UPDATE data_revision SET n = n + 1; END;
CREATE TRIGGER user_teams_rev_upd AFTER UPDATE ON user_teams BEGIN UPDATE data_revision SET n = n + 1; END;
CREATE TRIGGER user_teams_rev_del AFTER DELETE ON user_teams BEGIN UPDATE data_revision SET n = n + 1; END;

CREATE TABLE user_counts (
    kind   TEXT    NOT NULL,
    role   TEXT    NOT NULL,
    status TEXT    NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (kind, role, status)
);
INSERT INTO user_counts (kind, role, status, n)
SELECT kind, role, status, COUNT(*) FROM users GROUP BY kind, role, status;

CREATE TRIGGER users_count_ins AFTER INSERT ON users BEGIN
    INSERT INTO user_counts (kind, role, status, n) VALUES (NEW.kind, NEW.role, NEW.status, 1)
    ON CONFLICT (kind, role, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER users_count_del AFTER DELETE ON users BEGIN
    UPDATE user_counts SET n = n - 1 WHERE kind = OLD.kind AND role = OLD.role AND status = OLD.status;
END;
CREATE TRIGGER users_count_upd AFTER UPDATE OF kind, role, status ON users
WHEN OLD.kind <> NEW.kind OR OLD.role <> NEW.role OR OLD.status <> NEW.status
BEGIN
    UPDATE user_counts SET n = n - 1 WHERE kind = OLD.kind AND role = OLD.role AND status = OLD.status;
    INSERT INTO user_counts (kind, role, status, n) VALUES (NEW.kind, NEW.role, NEW.status, 1)
    ON CONFLICT (kind, role, status) DO UPDATE SET n = n + 1;
END;

-- team_counts counts each team's members by kind, role and status, for a
-- Users page filtered on one team. A deleted user's memberships go by
-- cascade after the user row, so users_team_count_del counts them out.
CREATE TABLE team_counts (
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    kind    TEXT    NOT NULL,
    role    TEXT    NOT NULL,
    status  TEXT    NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (team_id, kind, role, status)
);
INSERT INTO team_counts (team_id, kind, role, status, n)
SELECT ut.team_id, u.kind, u.role, u.status, COUNT(*) FROM user_teams ut JOIN users u ON u.id = ut.user_id
GROUP BY ut.team_id, u.kind, u.role, u.status;

CREATE TRIGGER user_teams_count_ins AFTER INSERT ON user_teams BEGIN
    INSERT INTO team_counts (team_id, kind, role, status, n)
    SELECT NEW.team_id, kind, role, status, 1 FROM users WHERE id = NEW.user_id
    ON CONFLICT (team_id, kind, role, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER user_teams_count_del AFTER DELETE ON user_teams BEGIN
    UPDATE team_counts SET n = n - 1 WHERE team_id = OLD.team_id
        AND (kind, role, status) = (SELECT kind, role, status FROM users WHERE id = OLD.user_id);
END;
CREATE TRIGGER user_teams_count_upd AFTER UPDATE ON user_teams BEGIN
    UPDATE team_counts SET n = n - 1 WHERE team_id = OLD.team_id
        AND (kind, role, status) = (SELECT kind, role, status FROM users WHERE id = OLD.user_id);
    INSERT INTO team_counts (team_id, kind, role, status, n)
    SELECT NEW.team_id, kind, role, status, 1 FROM users WHERE id = NEW.user_id
    ON CONFLICT (team_id, kind, role, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER users_team_count_upd AFTER UPDATE OF kind, role, status ON users
WHEN OLD.kind <> NEW.kind OR OLD.role <> NEW.role OR OLD.status <> NEW.status
BEGIN
    UPDATE team_counts SET n = n - 1 WHERE kind = OLD.kind AND role = OLD.role AND status = OLD.status
        AND team_id IN (SELECT team_id FROM user_teams WHERE user_id = OLD.id);
    INSERT INTO team_counts (team_id, kind, role, status, n)
    SELECT team_id, NEW.kind, NEW.role, NEW.status, 1 FROM user_teams WHERE user_id = NEW.id
    ON CONFLICT (team_id, kind, role, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER users_team_count_del BEFORE DELETE ON users BEGIN
    UPDATE team_counts SET n = n - 1 WHERE kind = OLD.kind AND role = OLD.role AND status = OLD.status
        AND team_id IN (SELECT team_id FROM user_teams WHERE user_id = OLD.id);
END;

-- External content: the index keeps only the words; docid is users.id.
-- prefix="1,2": a one- or two-character word ("4", "bo") reads a prefix
-- index instead of merging the lists of every word it starts.
CREATE VIRTUAL TABLE users_fts USING fts4(content="users", search_text, tokenize=unicode61, prefix="1,2");
INSERT INTO users_fts (users_fts) VALUES ('rebuild');

CREATE TRIGGER users_fts_before_upd BEFORE UPDATE OF search_text ON users BEGIN
    DELETE FROM users_fts WHERE docid = OLD.id;
END;
CREATE TRIGGER users_fts_before_del BEFORE DELETE ON users BEGIN
    DELETE FROM users_fts WHERE docid = OLD.id;
END;
CREATE TRIGGER users_fts_after_upd AFTER UPDATE OF search_text ON users BEGIN
    INSERT INTO users_fts (docid, search_text) VALUES (NEW.id, NEW.search_text);
END;
CREATE TRIGGER users_fts_after_ins AFTER INSERT ON users BEGIN
    INSERT INTO users_fts (docid, search_text) VALUES (NEW.id, NEW.search_text);
END;

-- A filtered Users page (a team, a search) looks up each match's status,
-- role, type and name here instead of in its whole row.
CREATE INDEX users_list ON users (id, status, role, kind, name COLLATE NOCASE);

-- Searching is by words now; the substring index is gone.
DROP INDEX users_status_search;

-- The audit summary's most active actor (Store.topActor): a day's (and an
-- action's) busiest actors, and one actor's days.
CREATE INDEX audit_daily_actors_day_n ON audit_daily_actors (day, n);
CREATE INDEX audit_daily_actors_actor ON audit_daily_actors (actor_kind, actor_id, actor_label, day);
CREATE INDEX audit_daily_actor_actions_n ON audit_daily_actor_actions (action, day, n);
CREATE INDEX audit_daily_actor_actions_actor ON audit_daily_actor_actions (actor_kind, actor_id, actor_label, action, day);
