-- 0009_revision_counts_search: twin of sqlite/0009. Kept in step by
-- triggers, so a change made outside Warden counts too:
--   data_revision moves on every change to users, tokens, teams and team
--   memberships; the token-authentication cache is valid while it holds.
--   user_counts counts users by kind, role and status, and team_counts each
--   team's members so.
--   users_search indexes the words of search_text (split and folded by the
--   store) for the Users search, as SQLite's users_fts does.

CREATE TABLE data_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT  NOT NULL
);
INSERT INTO data_revision (id, n) VALUES (1, 0);

CREATE FUNCTION warden_bump_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE data_revision SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END $$;

CREATE TRIGGER users_rev AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION warden_bump_revision();
CREATE TRIGGER tokens_rev AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION warden_bump_revision();
CREATE TRIGGER teams_rev AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON teams
    FOR EACH STATEMENT EXECUTE FUNCTION warden_bump_revision();
CREATE TRIGGER user_teams_rev AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_teams
    FOR EACH STATEMENT EXECUTE FUNCTION warden_bump_revision();

CREATE TABLE user_counts (
    kind   TEXT   NOT NULL,
    role   TEXT   NOT NULL,
    status TEXT   NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (kind, role, status)
);
INSERT INTO user_counts (kind, role, status, n)
SELECT kind, role, status, COUNT(*) FROM users GROUP BY kind, role, status;

CREATE FUNCTION warden_count_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE user_counts SET n = n - 1 WHERE kind = OLD.kind AND role = OLD.role AND status = OLD.status;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO user_counts (kind, role, status, n) VALUES (NEW.kind, NEW.role, NEW.status, 1)
        ON CONFLICT (kind, role, status) DO UPDATE SET n = user_counts.n + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER users_count AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION warden_count_users();
CREATE TRIGGER users_count_upd AFTER UPDATE OF kind, role, status ON users
    FOR EACH ROW WHEN (OLD.kind <> NEW.kind OR OLD.role <> NEW.role OR OLD.status <> NEW.status)
    EXECUTE FUNCTION warden_count_users();

-- team_counts counts each team's members by kind, role and status. A
-- deleted user's memberships go by cascade after the user row, so the
-- BEFORE DELETE trigger on users counts them out.
CREATE TABLE team_counts (
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    kind    TEXT   NOT NULL,
    role    TEXT   NOT NULL,
    status  TEXT   NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (team_id, kind, role, status)
);
INSERT INTO team_counts (team_id, kind, role, status, n)
SELECT ut.team_id, u.kind, u.role, u.status, COUNT(*) FROM user_teams ut JOIN users u ON u.id = ut.user_id
GROUP BY ut.team_id, u.kind, u.role, u.status;

CREATE FUNCTION warden_count_team_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'user_teams' THEN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE team_counts tc SET n = tc.n - 1 FROM users u
            WHERE u.id = OLD.user_id AND tc.team_id = OLD.team_id AND tc.kind = u.kind AND tc.role = u.role AND tc.status = u.status;
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            INSERT INTO team_counts (team_id, kind, role, status, n)
            SELECT NEW.team_id, kind, role, status, 1 FROM users WHERE id = NEW.user_id
            ON CONFLICT (team_id, kind, role, status) DO UPDATE SET n = team_counts.n + 1;
        END IF;
    ELSE
        UPDATE team_counts SET n = n - 1 WHERE kind = OLD.kind AND role = OLD.role AND status = OLD.status
            AND team_id IN (SELECT team_id FROM user_teams WHERE user_id = OLD.id);
        IF TG_OP = 'UPDATE' THEN
            INSERT INTO team_counts (team_id, kind, role, status, n)
            SELECT team_id, NEW.kind, NEW.role, NEW.status, 1 FROM user_teams WHERE user_id = NEW.id
            ON CONFLICT (team_id, kind, role, status) DO UPDATE SET n = team_counts.n + 1;
        END IF;
    END IF;
    RETURN OLD; -- a BEFORE DELETE trigger must return the row to go on
END $$;

CREATE TRIGGER user_teams_team_count AFTER INSERT OR UPDATE OR DELETE ON user_teams
    FOR EACH ROW EXECUTE FUNCTION warden_count_team_members();
CREATE TRIGGER users_team_count_upd AFTER UPDATE OF kind, role, status ON users
    FOR EACH ROW WHEN (OLD.kind <> NEW.kind OR OLD.role <> NEW.role OR OLD.status <> NEW.status)
    EXECUTE FUNCTION warden_count_team_members();
CREATE TRIGGER users_team_count_del BEFORE DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION warden_count_team_members();

-- TRUNCATE fires no row trigger: count both tables afresh.
CREATE FUNCTION warden_recount() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM user_counts;
    INSERT INTO user_counts (kind, role, status, n)
    SELECT kind, role, status, COUNT(*) FROM users GROUP BY kind, role, status;
    DELETE FROM team_counts;
    INSERT INTO team_counts (team_id, kind, role, status, n)
    SELECT ut.team_id, u.kind, u.role, u.status, COUNT(*) FROM user_teams ut JOIN users u ON u.id = ut.user_id
    GROUP BY ut.team_id, u.kind, u.role, u.status;
    RETURN NULL;
END $$;
CREATE TRIGGER users_recount AFTER TRUNCATE ON users FOR EACH STATEMENT EXECUTE FUNCTION warden_recount();
CREATE TRIGGER user_teams_recount AFTER TRUNCATE ON user_teams FOR EACH STATEMENT EXECUTE FUNCTION warden_recount();

CREATE INDEX users_search ON users USING gin (to_tsvector('simple', search_text));
DROP INDEX users_search_trgm;

-- The audit summary's most active actor (Store.topActor): a day's (and an
-- action's) busiest actors, and one actor's days.
CREATE INDEX audit_daily_actors_day_n ON audit_daily_actors (day, n);
CREATE INDEX audit_daily_actors_actor ON audit_daily_actors (actor_kind, actor_id, actor_label, day);
CREATE INDEX audit_daily_actor_actions_n ON audit_daily_actor_actions (action, day, n);
CREATE INDEX audit_daily_actor_actions_actor ON audit_daily_actor_actions (actor_kind, actor_id, actor_label, action, day);
