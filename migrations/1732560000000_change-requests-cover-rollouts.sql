-- Up Migration
-- Change policies may cover rollout starts (issue 18 item 2): a covered start waits as a change
-- request of kind 'rollout' whose proposed value is the rollout plan. The checks are replaced by
-- named ones: a later migration that adds another covered change (or kind) must keep these values.

ALTER TABLE change_policies DROP CONSTRAINT change_policies_covers_check;
ALTER TABLE change_policies ADD CONSTRAINT change_policies_covers_check
  CHECK (covers <@ ARRAY['configs', 'scheduled_changes', 'rollouts']::text[]);

ALTER TABLE change_requests DROP CONSTRAINT change_requests_kind_check;
ALTER TABLE change_requests ADD CONSTRAINT change_requests_kind_check
  CHECK (kind IN ('config', 'restore', 'rollout'));

-- Down Migration
ALTER TABLE change_requests DROP CONSTRAINT change_requests_kind_check;
ALTER TABLE change_requests ADD CONSTRAINT change_requests_kind_check CHECK (kind IN ('config', 'restore'));
ALTER TABLE change_policies DROP CONSTRAINT change_policies_covers_check;
ALTER TABLE change_policies ADD CONSTRAINT change_policies_covers_check CHECK (covers <@ ARRAY['configs', 'scheduled_changes']::text[]);
