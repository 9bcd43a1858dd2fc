-- Up Migration
-- Grants come back in the order they were given: rows written in one transaction share created_at,
-- and a random id is no order at all.
ALTER TABLE user_permissions ADD COLUMN position integer NOT NULL DEFAULT 0;

-- Down Migration
ALTER TABLE user_permissions DROP COLUMN position;
