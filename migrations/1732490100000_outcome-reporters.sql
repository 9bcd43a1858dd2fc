-- Up Migration
-- Issue 12, finding 1: every outcome batch records who reported it (`token:<id>` for a server token,
-- `user:<id>` for a user), so a guard can cap what one reporter contributes and name whose events drove it.
-- Rows counted before this migration have no known reporter.
ALTER TABLE flag_events ADD COLUMN reporter text NOT NULL DEFAULT 'unknown';
ALTER TABLE flag_events ALTER COLUMN reporter DROP DEFAULT;
ALTER TABLE flag_events DROP CONSTRAINT flag_events_pkey;
ALTER TABLE flag_events ADD PRIMARY KEY (flag_key, environment, minute, variant, reporter);

-- Down Migration
ALTER TABLE flag_events DROP CONSTRAINT flag_events_pkey;
DELETE FROM flag_events a USING flag_events b
 WHERE a.ctid > b.ctid AND (a.flag_key, a.environment, a.minute, a.variant) = (b.flag_key, b.environment, b.minute, b.variant);
ALTER TABLE flag_events ADD PRIMARY KEY (flag_key, environment, minute, variant);
ALTER TABLE flag_events DROP COLUMN reporter;
