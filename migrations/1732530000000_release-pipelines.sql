-- Up Migration
-- Release templates (README "Release pipelines"): named, ordered phases, each an environment and a rollout plan.
CREATE TABLE release_templates (
  id          uuid PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  description text NOT NULL DEFAULT '',
  phases      jsonb NOT NULL,
  version     integer NOT NULL DEFAULT 1,
  created_by  text NOT NULL,
  updated_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A read model of each releasePipeline workflow (Temporal is the truth), so lists need not ask Temporal per row.
CREATE TABLE release_pipelines (
  id            uuid PRIMARY KEY,
  flag_id       uuid NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
  template_name text NOT NULL,
  workflow_id   text NOT NULL,
  status        text NOT NULL CHECK (status IN ('running', 'paused', 'waiting_approval', 'soaking', 'completed', 'stopped', 'aborted', 'failed')),
  progress      jsonb NOT NULL DEFAULT '{}',
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz
);
CREATE INDEX release_pipelines_flag_idx ON release_pipelines (flag_id, created_at DESC);

-- Down Migration
DROP TABLE release_pipelines;
DROP TABLE release_templates;
