-- Up Migration
-- Management and governance (issue 5): per-user grants, segments, token bookkeeping, flag metadata versions.

-- A user may be deactivated (their tokens stop working at once); rows stay for the audit trail.
ALTER TABLE users ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE users ADD COLUMN deactivated_at timestamptz;

-- The seed's Permission: grants added to a user's role. conditions: {environments?: [...], flag_tags?: [...]}.
CREATE TABLE user_permissions (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  resource   text NOT NULL CHECK (resource IN ('flag', 'environment', 'audit')),
  action     text NOT NULL CHECK (action IN ('read', 'write', 'delete', 'kill_switch')),
  conditions jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_permissions_user_idx ON user_permissions (user_id);

-- Who made a token, and a non-secret prefix so people can tell their tokens apart.
ALTER TABLE api_tokens ADD COLUMN created_by text;
ALTER TABLE api_tokens ADD COLUMN display_prefix text;

-- Flag identity (name, description, tags, archived) changes are versioned apart from the configs.
ALTER TABLE flags ADD COLUMN version bigint NOT NULL DEFAULT 1;
CREATE INDEX flags_tags_idx ON flags USING gin (tags);

-- Segments are global (not per environment). Every change takes the next segment revision, so the
-- serving projection can tell in one number whether it is behind.
CREATE TABLE segment_revision (
  id       boolean PRIMARY KEY DEFAULT true CHECK (id),
  revision bigint NOT NULL DEFAULT 0
);
INSERT INTO segment_revision (id, revision) VALUES (true, 0);

CREATE TABLE segments (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  key         text NOT NULL UNIQUE CHECK (key ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  name        text NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '',
  kind        text NOT NULL CHECK (kind IN ('rule', 'list')),
  conditions  jsonb NOT NULL DEFAULT '[]',
  -- Members of a list segment; NULL for rule segments (their size depends on who asks).
  user_count  integer,
  version     bigint NOT NULL,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_by  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE segment_members (
  segment_id uuid NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
  member     text NOT NULL,
  PRIMARY KEY (segment_id, member)
);

-- Down Migration
DROP TABLE segment_members;
DROP TABLE segments;
DROP TABLE segment_revision;
DROP INDEX flags_tags_idx;
ALTER TABLE flags DROP COLUMN version;
ALTER TABLE api_tokens DROP COLUMN display_prefix;
ALTER TABLE api_tokens DROP COLUMN created_by;
DROP TABLE user_permissions;
ALTER TABLE users DROP COLUMN deactivated_at;
ALTER TABLE users DROP COLUMN updated_at;
