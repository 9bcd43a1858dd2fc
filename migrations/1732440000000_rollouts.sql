-- Up Migration
-- Rollouts (docs/architecture.md §3): a read model of each rollout workflow, so lists need not ask Temporal per row.
CREATE TABLE rollouts (
  id          uuid PRIMARY KEY,
  flag_id     uuid NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
  environment text NOT NULL REFERENCES environments (key),
  workflow_id text NOT NULL,
  plan        jsonb NOT NULL,
  status      text NOT NULL CHECK (status IN ('running', 'paused', 'waiting_approval', 'completed', 'aborted', 'rolled_back', 'failed')),
  progress    jsonb NOT NULL DEFAULT '{}',
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX rollouts_flag_idx ON rollouts (flag_id, environment, created_at DESC);

-- Outcomes reported by SDKs and services (POST /api/v1/events), counted per minute, for rollout guards.
CREATE TABLE flag_events (
  flag_key    text NOT NULL,
  environment text NOT NULL,
  variant     text NOT NULL,
  minute      timestamptz NOT NULL,
  successes   bigint NOT NULL DEFAULT 0,
  errors      bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (flag_key, environment, minute, variant)
);

-- Down Migration
DROP TABLE flag_events;
DROP TABLE rollouts;
