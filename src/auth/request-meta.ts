import type { Actor } from '../auth/principal.js';
import type { AccessRequest } from '../auth/rbac.js';

/** Throws (403) unless the caller may read what is asked for; read services call it once they know the flag's tags. */
export type AccessCheck = (request: AccessRequest) => void;

/** Where a request came from, for the audit events of workflow actions (Slack has none). */
export interface RequestOrigin {
  ipAddress?: string | null;
  userAgent?: string | null;
}

/** Who is making a change, from where and why, for the audit log (the write commands decide the rights first). */
export interface RequestMeta {
  actor: Actor;
  ipAddress?: string | null;
  userAgent?: string | null;
  /** Why, as the caller said (body `reason` or `X-Audit-Reason`). */
  reason?: string | null;
  /** Extra facts for the write's audit event (a change-policy bypass). */
  auditMetadata?: Record<string, unknown>;
}

/** What a write needs to audit itself: the actor's id and name (an approved change request's author has no request of their own). */
export type AuditMeta = Omit<RequestMeta, 'actor'> & { actor: Pick<Actor, 'id' | 'name'> };

/** The fields of an audit event (src/audit/audit-store.ts) that come from the request. */
export interface RequestAuditFields {
  userId: string;
  ipAddress: string | null;
  userAgent: string | null;
  reason: string | null;
  metadata: Record<string, unknown>;
}

/** The audit fields that come from the request. */
export function auditFrom(meta: AuditMeta): RequestAuditFields {
  return {
    userId: meta.actor.id,
    ipAddress: meta.ipAddress ?? null,
    userAgent: meta.userAgent ?? null,
    reason: meta.reason ?? null,
    metadata: { actorName: meta.actor.name },
  };
}
