-- 0005_audit_no_replace: on SQLite this closes INSERT OR REPLACE, which
-- deletes a row without firing DELETE triggers. PostgreSQL has no such
-- statement (INSERT ... ON CONFLICT DO UPDATE fires the UPDATE trigger of
-- 0004), so here the version only keeps both schemas numbered alike.
SELECT 1;
