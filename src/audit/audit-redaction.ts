import type { AuditPage } from '../protocol/admin-api.js';

type AuditEvent = AuditPage['events'][number];

/**
 * What `/audit` hides from callers without admin rights: the audit log records
 * secrets-adjacent and personal data that only admins may read elsewhere in the API.
 * - `webhook.*` events: each `url` is cut to its origin (no credentials, path or query string: Slack-
 *   style hook URLs carry their token in the path).
 * - `user.*` events about another user: their `email`, `role`, `grants` and `slack_user_id`
 *   (and the whole value of `user.grants.updated`).
 * - every event by another user: the actor's `actor_email` (the name stays).
 * A caller's own user events and e-mail stay visible. Redacted values read `[redacted]`.
 */
export const REDACTED = '[redacted]';
const PERSONAL_FIELDS = ['email', 'role', 'grants', 'slack_user_id'] as const;

function originOnly(url: unknown): unknown {
  if (typeof url !== 'string') return url;
  try {
    return `${new URL(url).origin}/${REDACTED}`;
  } catch {
    return REDACTED;
  }
}

function redactValue(value: unknown, redact: (record: Record<string, unknown>) => Record<string, unknown>): unknown {
  if (value === null || value === undefined) return value;
  if (Array.isArray(value) || typeof value !== 'object') return REDACTED;
  return redact(value as Record<string, unknown>);
}

const withoutUrl = (record: Record<string, unknown>) => ('url' in record ? { ...record, url: originOnly(record.url) } : record);
const withoutPersonal = (record: Record<string, unknown>) => {
  const copy = { ...record };
  for (const field of PERSONAL_FIELDS) if (field in copy) copy[field] = REDACTED;
  return copy;
};

/** One event as a caller without admin rights (`viewerId`) may read it. */
export function redactAuditEvent(event: AuditEvent, viewerId: string): AuditEvent {
  let redacted: AuditEvent = event.user_id === viewerId || event.actor_email === null ? event : { ...event, actor_email: null };
  if (event.resource_type === 'webhook') {
    redacted = { ...redacted, old_value: redactValue(event.old_value, withoutUrl), new_value: redactValue(event.new_value, withoutUrl) };
  } else if (event.resource_type === 'user' && event.resource_id !== viewerId) {
    redacted = { ...redacted, old_value: redactValue(event.old_value, withoutPersonal), new_value: redactValue(event.new_value, withoutPersonal) };
  }
  return redacted;
}

export function redactAuditPage(page: AuditPage, viewerId: string): AuditPage {
  return { ...page, events: page.events.map((event) => redactAuditEvent(event, viewerId)) };
}
