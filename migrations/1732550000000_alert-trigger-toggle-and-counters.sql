-- Up Migration
-- Alert triggers (issue 18): disable a trigger without deleting it, and count what it heard and did.

-- A disabled trigger's URL answers exactly like an unknown one (404) and never acts.
ALTER TABLE alert_triggers ADD COLUMN enabled boolean NOT NULL DEFAULT true;
-- Deliveries that reached the trigger while enabled (well-formed or not; rate-limited ones are refused before).
ALTER TABLE alert_triggers ADD COLUMN deliveries_received bigint NOT NULL DEFAULT 0;
ALTER TABLE alert_triggers ADD COLUMN kills_fired bigint NOT NULL DEFAULT 0;
ALTER TABLE alert_triggers ADD COLUMN restores_fired bigint NOT NULL DEFAULT 0;
ALTER TABLE alert_triggers ADD COLUMN last_delivery_at timestamptz;
-- The alert names of the latest kill or restore (last_fired_at is when).
ALTER TABLE alert_triggers ADD COLUMN last_fired_alert text;

-- Down Migration
ALTER TABLE alert_triggers
  DROP COLUMN last_fired_alert,
  DROP COLUMN last_delivery_at,
  DROP COLUMN restores_fired,
  DROP COLUMN kills_fired,
  DROP COLUMN deliveries_received,
  DROP COLUMN enabled;
