-- Up Migration
-- Webhooks (the seed's event stream): registered endpoints, their deliveries, and the dispatch cursor
-- into the audit log (every change is an audit event committed with it, so it doubles as the outbox).
CREATE TABLE webhooks (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  url        text NOT NULL CHECK (url ~ '^https?://'),
  -- The HMAC key must be usable to sign, so it is stored as given; it is never returned after creation.
  secret     text NOT NULL,
  events     text[] NOT NULL,
  enabled    boolean NOT NULL DEFAULT true,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  webhook_id       uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  audit_seq        bigint NOT NULL,
  event            text NOT NULL,
  payload          jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  last_status_code integer,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz,
  UNIQUE (webhook_id, audit_seq)
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at DESC);

CREATE TABLE webhook_dispatch_cursor (
  id       integer PRIMARY KEY CHECK (id = 1),
  last_seq bigint NOT NULL
);
INSERT INTO webhook_dispatch_cursor (id, last_seq) VALUES (1, coalesce((SELECT max(seq) FROM audit_events), 0));

-- Down Migration
DROP TABLE webhook_dispatch_cursor;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
