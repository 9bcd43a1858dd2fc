-- Up Migration
-- A config may bucket users as Unleash does ({"scheme": "unleash", "group_id": …}, src/domain/bucketing.ts),
-- so that a flag imported from Unleash keeps its users in and out of each rollout. NULL: Ripcord's
-- own bucketing (ADR 0004), what every existing config keeps.

ALTER TABLE flag_configs ADD COLUMN bucketing jsonb;

-- Down Migration
ALTER TABLE flag_configs DROP COLUMN bucketing;
