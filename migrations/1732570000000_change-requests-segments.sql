-- Up Migration
-- Change requests for segment edits (issue 18 item 2, ADR 0007 "Segment edits"): a segment is global,
-- so its request names the segment instead of a flag, and every environment whose policy it fell under.

ALTER TABLE change_requests ALTER COLUMN flag_key DROP NOT NULL;
-- The segment a `segment` request edits (null for the other kinds).
ALTER TABLE change_requests ADD COLUMN segment_key text;
-- Every environment whose policy covered the change; `environment` is the strictest of them.
ALTER TABLE change_requests ADD COLUMN environments text[];
UPDATE change_requests SET environments = ARRAY[environment];
ALTER TABLE change_requests ALTER COLUMN environments SET NOT NULL;

-- The kinds and covered writes gain 'segment' / 'segments', keeping 1732560000000's rollout values.
ALTER TABLE change_requests DROP CONSTRAINT IF EXISTS change_requests_kind_check;
ALTER TABLE change_requests ADD CONSTRAINT change_requests_kind_check CHECK (kind IN ('config', 'restore', 'rollout', 'segment'));
ALTER TABLE change_requests ADD CONSTRAINT change_requests_subject_check
  CHECK (CASE WHEN kind = 'segment' THEN segment_key IS NOT NULL AND flag_key IS NULL ELSE flag_key IS NOT NULL AND segment_key IS NULL END);
ALTER TABLE change_policies DROP CONSTRAINT IF EXISTS change_policies_covers_check;
ALTER TABLE change_policies ADD CONSTRAINT change_policies_covers_check
  CHECK (covers <@ ARRAY['configs', 'scheduled_changes', 'rollouts', 'segments']::text[]);

CREATE INDEX change_requests_segment_idx ON change_requests (segment_key, created_at DESC) WHERE segment_key IS NOT NULL;

-- Down Migration
DROP INDEX change_requests_segment_idx;
DELETE FROM change_requests WHERE kind = 'segment';
ALTER TABLE change_policies DROP CONSTRAINT change_policies_covers_check;
UPDATE change_policies SET covers = array_remove(covers, 'segments');
ALTER TABLE change_policies ADD CONSTRAINT change_policies_covers_check
  CHECK (covers <@ ARRAY['configs', 'scheduled_changes', 'rollouts']::text[]);
ALTER TABLE change_requests DROP CONSTRAINT change_requests_subject_check;
ALTER TABLE change_requests DROP CONSTRAINT change_requests_kind_check;
ALTER TABLE change_requests ADD CONSTRAINT change_requests_kind_check CHECK (kind IN ('config', 'restore', 'rollout'));
ALTER TABLE change_requests DROP COLUMN environments;
ALTER TABLE change_requests DROP COLUMN segment_key;
ALTER TABLE change_requests ALTER COLUMN flag_key SET NOT NULL;
