-- 0018_notice_revision: an expiry notice moves data_revision too, so the
-- overview's "owners notified" count is kept with the token counts (see
-- models/token_overview.go) and still changes the moment a sweep notes one.
-- Twin of postgres/0018_notice_revision.sql.

CREATE TRIGGER token_expiry_notices_rev_ins AFTER INSERT ON token_expiry_notices BEGIN UPDATE data_revision SET n = n + 1; END;
CREATE TRIGGER token_expiry_notices_rev_del AFTER DELETE ON token_expiry_notices BEGIN UPDATE data_revision SET n = n + 1; END;
