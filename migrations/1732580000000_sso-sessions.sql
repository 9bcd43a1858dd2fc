-- Up Migration
-- Single sign-on (OpenID Connect): who a user is at the identity provider, and the admin UI's sessions.

-- The identity provider's subject (`sub`) of a user who signed in with it, under its issuer: the stable
-- key of a person there (their email may change). A user an admin made is linked at their first sign-in
-- by a verified email.
ALTER TABLE users ADD COLUMN oidc_issuer text;
ALTER TABLE users ADD COLUMN oidc_subject text;
ALTER TABLE users ADD CONSTRAINT users_oidc_identity_key UNIQUE (oidc_issuer, oidc_subject);
ALTER TABLE users ADD CONSTRAINT users_oidc_identity_check CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL));
-- When the identity provider last vouched for the user's email (Slack accounts are linked by it, opt-in).
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
CREATE INDEX users_email_lower_idx ON users (lower(email));

-- A signed-in browser. The cookie holds a random secret; only its SHA-256 digest is stored. The ID
-- token (for the identity provider's logout) is sealed with a key derived from that secret, so only a
-- request bearing the cookie can open it.
CREATE TABLE sso_sessions (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  secret_hash     text NOT NULL UNIQUE,
  user_id         uuid NOT NULL REFERENCES users (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_seen_at    timestamptz NOT NULL DEFAULT now(),
  -- The absolute timeout; the idle timeout is measured from last_seen_at.
  expires_at      timestamptz NOT NULL,
  id_token_sealed text,
  ended_at        timestamptz,
  end_reason      text CHECK (end_reason IN ('signed_out')),
  ip_address      text,
  user_agent      text,
  CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX sso_sessions_user_idx ON sso_sessions (user_id) WHERE ended_at IS NULL;
CREATE INDEX sso_sessions_expires_idx ON sso_sessions (expires_at);

-- Down Migration
DROP TABLE sso_sessions;
DROP INDEX users_email_lower_idx;
ALTER TABLE users DROP COLUMN email_verified_at;
ALTER TABLE users DROP CONSTRAINT users_oidc_identity_check;
ALTER TABLE users DROP CONSTRAINT users_oidc_identity_key;
ALTER TABLE users DROP COLUMN oidc_subject;
ALTER TABLE users DROP COLUMN oidc_issuer;
