-- Up Migration
-- The segment revision when a change request was made: at apply, a segment its proposed config
-- targets that was written since (a higher version) makes the request conflict, so an edit of a
-- segment can't widen a change after its approvers saw it. Null for requests made before this column
-- (not checked).
ALTER TABLE change_requests ADD COLUMN segment_revision bigint;

-- Down Migration
ALTER TABLE change_requests DROP COLUMN segment_revision;
