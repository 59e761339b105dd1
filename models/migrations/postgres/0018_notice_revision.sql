-- 0018_notice_revision: an expiry notice moves data_revision too, so the
-- overview's "owners notified" count is kept with the token counts (see
-- models/token_overview.go) and still changes the moment a sweep notes one.
-- Twin of sqlite/0018_notice_revision.sql.

CREATE TRIGGER token_expiry_notices_rev AFTER INSERT OR DELETE OR TRUNCATE ON token_expiry_notices
    FOR EACH STATEMENT EXECUTE FUNCTION warden_bump_revision();
