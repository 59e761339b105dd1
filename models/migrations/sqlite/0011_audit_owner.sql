-- 0011_audit_owner: owner_id is the user an event concerns, so a user's
-- history keeps the events of its tokens after they are deleted:
--   a user target is its own owner; a token's owner is its service user,
--   read from tokens, or for a token deleted since from the "user" (the
--   owner's user_id) its creation or rotation event recorded.
-- owner_id is derived from the target and not covered by the hash (see
-- computeHash), so filling it here leaves the chain verifying. The
-- no-update trigger is dropped for the fill and recreated as it was.

DROP TRIGGER audit_events_no_update;

ALTER TABLE audit_events ADD COLUMN owner_id INTEGER; -- no foreign key: history outlives what it names

UPDATE audit_events SET owner_id = target_id WHERE target_kind = 'user';

UPDATE audit_events SET owner_id = (SELECT t.user_id FROM tokens t WHERE t.id = audit_events.target_id)
WHERE target_kind = 'token';

UPDATE audit_events SET owner_id = (
    SELECT u.id FROM audit_events c
    JOIN users u ON u.user_id = CASE WHEN json_valid(c.changes) THEN json_extract(c.changes, '$.user.after') END
    WHERE c.target_kind = 'token' AND c.target_id = audit_events.target_id AND c.changes LIKE '%"user":%'
    ORDER BY c.id LIMIT 1)
WHERE target_kind = 'token' AND owner_id IS NULL;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE INDEX audit_owner ON audit_events (owner_id, id);
