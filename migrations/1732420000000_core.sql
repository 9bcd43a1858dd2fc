-- Up Migration
-- The walking skeleton's tables (docs/architecture.md §3). Timestamps are timestamptz, every table has a primary key.

CREATE TABLE environments (
  key        text PRIMARY KEY CHECK (key ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  name       text NOT NULL,
  -- Bumped by every change in the environment; a flag config's version is the revision that wrote it,
  -- so versions are monotonic per environment and the serving projection can be compared in one number.
  revision   bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO environments (key, name) VALUES
  ('development', 'Development'), ('staging', 'Staging'), ('production', 'Production');

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL UNIQUE,
  name          text NOT NULL,
  role          text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin', 'emergency_responder')),
  slack_user_id text UNIQUE,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name         text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('client', 'server', 'admin')),
  environment  text REFERENCES environments (key),
  user_id      uuid REFERENCES users (id),
  token_hash   text NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz,
  -- client and server tokens are bound to one environment; admin tokens act as a user.
  CHECK ((kind = 'admin' AND user_id IS NOT NULL) OR (kind <> 'admin' AND environment IS NOT NULL))
);

CREATE TABLE flags (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  key         text NOT NULL UNIQUE CHECK (key ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  type        text NOT NULL CHECK (type IN ('boolean', 'string', 'number', 'json')),
  tags        text[] NOT NULL DEFAULT '{}',
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_by  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  archived_at timestamptz
);

CREATE TABLE flag_configs (
  flag_id     uuid NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
  environment text NOT NULL REFERENCES environments (key),
  enabled     boolean NOT NULL,
  value       jsonb NOT NULL,
  off_value   jsonb NOT NULL,
  rules       jsonb NOT NULL DEFAULT '[]',
  targeting   jsonb NOT NULL DEFAULT '[]',
  rollout     jsonb,
  kill_switch jsonb NOT NULL DEFAULT '{"enabled": false}',
  version     bigint NOT NULL,
  updated_by  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (flag_id, environment)
);
CREATE INDEX flag_configs_environment_idx ON flag_configs (environment);

-- Append-only, hash-chained audit trail.
CREATE TABLE audit_events (
  seq             bigserial PRIMARY KEY,
  id              uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
  "timestamp"     timestamptz NOT NULL DEFAULT now(),
  user_id         text NOT NULL,
  action          text NOT NULL,
  resource_type   text NOT NULL,
  resource_id     text NOT NULL,
  environment     text,
  old_value       jsonb,
  new_value       jsonb,
  reason          text,
  ip_address      text,
  user_agent      text,
  metadata        jsonb NOT NULL DEFAULT '{}',
  -- Retried steps (workflow activities, redelivered requests) write their event once.
  idempotency_key text UNIQUE,
  prev_hash       text NOT NULL,
  hash            text NOT NULL
);
CREATE INDEX audit_events_resource_idx ON audit_events (resource_type, resource_id, seq);
CREATE INDEX audit_events_timestamp_idx ON audit_events ("timestamp");

-- The digest covers every column but the hash itself; epoch microseconds keep it independent of TimeZone.
CREATE FUNCTION audit_event_digest(prev text, e audit_events) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(prev || jsonb_build_object(
    'seq', e.seq, 'id', e.id, 'ts', (extract(epoch FROM e."timestamp") * 1000000)::bigint,
    'user_id', e.user_id, 'action', e.action, 'resource_type', e.resource_type,
    'resource_id', e.resource_id, 'environment', e.environment, 'old_value', e.old_value,
    'new_value', e.new_value, 'reason', e.reason, 'ip_address', e.ip_address,
    'user_agent', e.user_agent, 'metadata', e.metadata, 'idempotency_key', e.idempotency_key
  )::text, 'UTF8')), 'hex')
$$;

CREATE FUNCTION audit_events_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- One writer at a time extends the chain; the lock is released at commit.
  PERFORM pg_advisory_xact_lock(7210019);
  -- Numbered under the lock so that seq order is chain order even when transactions interleave.
  NEW.seq := nextval(pg_get_serial_sequence('audit_events', 'seq'));
  NEW.prev_hash := coalesce((SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1), '');
  NEW.hash := audit_event_digest(NEW.prev_hash, NEW);
  RETURN NEW;
END $$;

CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_chain();

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Work that must happen after a commit even if a dependency (Temporal) is down at that moment.
CREATE TABLE outbox (
  id           bigserial PRIMARY KEY,
  kind         text NOT NULL,
  dedupe_key   text NOT NULL UNIQUE,
  payload      jsonb NOT NULL,
  attempts     integer NOT NULL DEFAULT 0,
  last_error   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  processed_at timestamptz
);
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE processed_at IS NULL;

-- Down Migration
DROP TABLE outbox;
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
DROP FUNCTION audit_events_chain();
DROP TABLE flag_configs;
DROP TABLE flags;
DROP TABLE api_tokens;
DROP TABLE users;
DROP TABLE environments;
