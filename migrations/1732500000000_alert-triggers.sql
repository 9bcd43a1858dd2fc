-- Up Migration
-- Alert triggers (issue 18): a secret URL an alerting system calls to kill (and optionally restore) a flag.

CREATE TABLE alert_triggers (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  flag_id             uuid NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
  environment         text NOT NULL REFERENCES environments (key),
  name                text NOT NULL,
  source              text NOT NULL CHECK (source IN ('alertmanager', 'grafana', 'datadog', 'pagerduty', 'generic')),
  -- Like API tokens: only the SHA-256 of the URL's secret is kept; the URL is shown once.
  secret_hash         text NOT NULL UNIQUE,
  restore_on_resolved boolean NOT NULL DEFAULT false,
  -- Fire only when this many distinct alerts are firing within the window.
  min_alerts          integer NOT NULL DEFAULT 1 CHECK (min_alerts BETWEEN 1 AND 100),
  window_seconds      integer NOT NULL DEFAULT 300 CHECK (window_seconds BETWEEN 10 AND 86400),
  -- Armed only while a rollout of the flag runs in the environment.
  only_during_rollout boolean NOT NULL DEFAULT false,
  created_by          text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  last_fired_at       timestamptz
);
CREATE INDEX alert_triggers_flag_idx ON alert_triggers (flag_id, environment);

-- The alerts a trigger has heard of, by fingerprint: repeated deliveries of one firing alert fire once.
CREATE TABLE alert_trigger_alerts (
  trigger_id uuid NOT NULL REFERENCES alert_triggers (id) ON DELETE CASCADE,
  fingerprint text NOT NULL,
  status      text NOT NULL CHECK (status IN ('firing', 'resolved')),
  name        text NOT NULL,
  link        text,
  -- True once this firing episode has counted towards a kill; a resolve starts a new episode.
  fired       boolean NOT NULL DEFAULT false,
  first_seen  timestamptz NOT NULL DEFAULT now(),
  last_seen   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (trigger_id, fingerprint)
);
