-- Up Migration
-- Evaluations per flag, environment, variant and minute, flushed by every API replica from its
-- in-process counters, so a flag page can chart the last hour or day without a page having been open.
-- Rows older than the retention (2 days) are pruned by the replicas as they flush.
CREATE TABLE flag_evaluation_minutes (
  flag_key       text NOT NULL,
  environment    text NOT NULL,
  variant        text NOT NULL,
  minute         timestamptz NOT NULL,
  evaluations    bigint NOT NULL DEFAULT 0,
  errors         bigint NOT NULL DEFAULT 0,
  last_evaluated timestamptz NOT NULL,
  PRIMARY KEY (flag_key, environment, minute, variant)
);
CREATE INDEX flag_evaluation_minutes_minute_idx ON flag_evaluation_minutes (minute);

-- Down Migration
DROP TABLE flag_evaluation_minutes;
