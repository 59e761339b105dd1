-- 0005_audit_no_replace: INSERT OR REPLACE deletes the old row without firing
-- DELETE triggers (unless recursive_triggers is on), so it could overwrite an
-- event. Refuse any insert whose id already exists.

CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events
WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
