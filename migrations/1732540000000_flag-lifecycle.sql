-- Up Migration
-- Flag lifecycle (issue 18 item 4). When each flag was last evaluated in each environment: unlike the
-- per-minute rollups (pruned after two days) this is kept for good, so "not evaluated for 30 days" can
-- be told. The API replicas write it in the same statement as their rollup flush, one row per flag and
-- environment, only ever moving forward.
CREATE TABLE flag_last_evaluated (
  flag_key       text NOT NULL,
  environment    text NOT NULL,
  last_evaluated timestamptz NOT NULL,
  PRIMARY KEY (flag_key, environment)
);

-- The weekly lifecycle digest: one row per week and recipient once its Slack message went out, so a
-- retried activity or a second run in the same week does not post again.
CREATE TABLE lifecycle_digest_posts (
  week       text NOT NULL,
  recipient  text NOT NULL,
  flags      integer NOT NULL,
  posted_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (week, recipient)
);

-- Down Migration
DROP TABLE lifecycle_digest_posts;
DROP TABLE flag_last_evaluated;
