-- Up Migration
-- The audit chain's functions resolve names in a fixed search_path and name the audit table in
-- full. They ran with the caller's search_path, in which a session's temporary schema comes first:
-- the application role could CREATE TEMP TABLE audit_events and so choose the seq and prev_hash the
-- chain trigger gave its own insert. pg_catalog comes first and pg_temp last (never searched for
-- functions and operators there, and only after pg_catalog for tables); public is not searched at all.
-- The bodies are the same, so every existing digest still verifies.

CREATE OR REPLACE FUNCTION public.audit_event_digest(prev text, e public.audit_events) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT encode(sha256(convert_to(prev || jsonb_build_object(
    'seq', e.seq, 'id', e.id, 'ts', (extract(epoch FROM e."timestamp") * 1000000)::bigint,
    'user_id', e.user_id, 'action', e.action, 'resource_type', e.resource_type,
    'resource_id', e.resource_id, 'environment', e.environment, 'old_value', e.old_value,
    'new_value', e.new_value, 'reason', e.reason, 'ip_address', e.ip_address,
    'user_agent', e.user_agent, 'metadata', e.metadata, 'idempotency_key', e.idempotency_key
  )::text, 'UTF8')), 'hex')
$$;

CREATE OR REPLACE FUNCTION public.audit_events_chain() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- One writer at a time extends the chain; the lock is released at commit.
  PERFORM pg_catalog.pg_advisory_xact_lock(7210019);
  -- Numbered under the lock so that seq order is chain order even when transactions interleave.
  NEW.seq := pg_catalog.nextval(pg_catalog.pg_get_serial_sequence('public.audit_events', 'seq'));
  NEW.prev_hash := coalesce((SELECT a.hash FROM public.audit_events a ORDER BY a.seq DESC LIMIT 1), '');
  NEW.hash := public.audit_event_digest(NEW.prev_hash, NEW);
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION public.audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

-- Down Migration
ALTER FUNCTION public.audit_event_digest(text, public.audit_events) RESET search_path;
ALTER FUNCTION public.audit_events_chain() RESET search_path;
ALTER FUNCTION public.audit_events_append_only() RESET search_path;
