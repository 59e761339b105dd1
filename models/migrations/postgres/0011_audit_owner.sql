-- 0011_audit_owner: owner_id is the user an event concerns. Twin of
-- sqlite/0011_audit_owner.sql (which says how it is filled); owner_id is not
-- hashed, and the no-change trigger is dropped for the fill, then recreated.

DROP TRIGGER audit_events_no_change ON audit_events;

ALTER TABLE audit_events ADD COLUMN owner_id BIGINT;

UPDATE audit_events SET owner_id = target_id WHERE target_kind = 'user';

UPDATE audit_events e SET owner_id = t.user_id FROM tokens t
WHERE e.target_kind = 'token' AND t.id = e.target_id;

UPDATE audit_events e SET owner_id = o.user_id FROM (
    SELECT DISTINCT ON (c.target_id) c.target_id, u.id AS user_id
    FROM audit_events c
    JOIN users u ON u.user_id = CASE WHEN c.changes LIKE '{%' THEN c.changes::jsonb -> 'user' ->> 'after' END
    WHERE c.target_kind = 'token' AND c.changes LIKE '%"user":%'
    ORDER BY c.target_id, c.id) o
WHERE e.target_kind = 'token' AND e.owner_id IS NULL AND e.target_id = o.target_id;

CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE INDEX audit_owner ON audit_events (owner_id, id);
