import { isAllowed, type Subject } from '../auth/rbac.js';
import type { Condition } from '../domain/flag.js';
import { sameJson } from '../domain/variants.js';
import { ConflictError, ForbiddenError, PreconditionFailedError } from '../errors.js';
import type { ChangePolicy, ChangeRequest } from './change-request-schemas.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { anyPolicyCovers, findPolicy, insertChangeRequest, setChangeRequestStatus, type ChangeRequestRecord } from './change-request-store.js';
import type { Queryable } from '../connections/database.js';
import { allMembers, findSegment, lockSegmentUsers, segmentUsage, type SegmentRecord } from '../segments/segment-store.js';
import { approvalsLost, authorAccessLost } from './author-rights.js';
import { describeApprovers, mayApprove } from './approvers.js';
import type { ChangeRequestApplied } from './change-request-apply.js';
import type { AuditMeta, RequestMeta } from '../auth/request-meta.js';
import { presentSegment, type SegmentService, type SegmentUpdate, type SegmentWrite } from '../segments/segment-service.js';

/**
 * Change requests for segment edits (ADR 0007, "Segment edits"). A segment is global but a policy is
 * per environment, so a segment edit falls under the policy of every environment where a live flag
 * config targets the segment: it becomes a request when any of those policies covers `segments`,
 * needs the largest `required_approvals` among them, and an approval counts only from someone every
 * one of them allows (never the author). Creating a segment is never gated: nothing uses it yet.
 */

/** A segment edit as its command (the caller's rights decided) hands it over before writing. */
export type SegmentEdit =
  | { op: 'update'; update: SegmentUpdate }
  | { op: 'members'; add?: string[]; remove?: string[] }
  | { op: 'delete' };

export interface CoveredSegmentWrite {
  segmentKey: string;
  edit: SegmentEdit;
  /** update, replace_members, members, delete: which route made it. */
  source: string;
  /** The If-Match / body version the write expects (412 when stale, as the write itself would answer). */
  expectedVersion?: number;
  meta: RequestMeta;
  bypass: boolean;
  subject: Subject;
}

/** The whole segment a request proposes (what applies). */
export interface ProposedSegment {
  key: string;
  kind: 'rule' | 'list';
  name: string;
  description: string;
  conditions?: Condition[];
  members?: string[];
}

/** The environments whose policies a segment edit falls under: sorted by key, each covering `segments`. */
export async function coveringPolicies(db: Queryable, segmentKey: string): Promise<ChangePolicy[]> {
  // Archived flags serve nothing: an edit cannot change what they evaluate to.
  const environments = [...new Set((await segmentUsage(db, segmentKey)).filter((u) => !u.archived).map((u) => u.environment))].sort();
  const policies: ChangePolicy[] = [];
  for (const environment of environments) {
    const policy = await findPolicy(db, environment);
    if (policy.required_approvals > 0 && policy.covers.includes('segments')) policies.push(policy);
  }
  return policies;
}

/** The policy asking for the most approvals (the first by environment key on a tie): the request's `environment`. */
export function strictestOf(policies: readonly ChangePolicy[]): ChangePolicy {
  return policies.reduce((strictest, p) => (p.required_approvals > strictest.required_approvals ? p : strictest));
}

const MEMBERS_SHOWN = 100;

/** What a reviewer reads: the fields that change; members as counts with the first added and removed. */
export function segmentDiff(before: ProposedSegment, after: ProposedSegment | null): ChangeRequest['diff'] {
  if (after === null) return [{ field: 'deleted', before: false, after: true }];
  const diff: ChangeRequest['diff'] = [];
  for (const field of ['name', 'description', 'conditions'] as const) {
    if (!sameJson(before[field] ?? null, after[field] ?? null)) diff.push({ field, before: before[field] ?? null, after: after[field] ?? null });
  }
  if (before.kind === 'list') {
    const old = new Set(before.members), next = new Set(after.members);
    const added = [...next].filter((m) => !old.has(m)), removed = [...old].filter((m) => !next.has(m));
    if (added.length || removed.length) {
      diff.push({
        field: 'members',
        before: { count: old.size, removed: removed.length, first_removed: removed.slice(0, MEMBERS_SHOWN) },
        after: { count: next.size, added: added.length, first_added: added.slice(0, MEMBERS_SHOWN) },
      });
    }
  }
  return diff;
}

async function snapshot(tx: Queryable, segment: SegmentRecord): Promise<ProposedSegment> {
  const base = { key: segment.key, kind: segment.kind, name: segment.name, description: segment.description };
  return segment.kind === 'rule' ? { ...base, conditions: segment.conditions } : { ...base, members: (await allMembers(tx, segment.id)).sort() };
}

/** The whole new segment an edit makes, refused (409) exactly as the direct write would refuse it. */
function proposedBy(current: ProposedSegment, edit: Exclude<SegmentEdit, { op: 'delete' }>): ProposedSegment {
  const key = current.key;
  if (edit.op === 'members') {
    if (current.kind !== 'list') throw new ConflictError(`Segment '${key}' is a rule segment; it has no member list`);
    const members = new Set(current.members);
    for (const m of edit.remove ?? []) members.delete(m);
    for (const m of edit.add ?? []) members.add(m);
    return { ...current, members: [...members].sort() };
  }
  const { update } = edit;
  if (current.kind === 'rule' && update.members) throw new ConflictError(`Segment '${key}' is a rule segment; it takes conditions, not members`);
  if (current.kind === 'list' && update.conditions) throw new ConflictError(`Segment '${key}' is a list segment; it takes members, not conditions`);
  return {
    ...current,
    ...(update.name !== undefined ? { name: update.name } : {}),
    ...(update.description !== undefined ? { description: update.description } : {}),
    ...(update.conditions ? { conditions: update.conditions } : {}),
    ...(update.members ? { members: [...new Set(update.members)].sort() } : {}),
  };
}

/**
 * Under the segment's row lock: the policies the edit falls under now, and, unless it bypasses them,
 * the pending request made of it (its id). Null policies: not covered (or no such segment: the write
 * itself answers 404), the write goes on.
 */
export async function requestSegmentChange(
  tx: Queryable, write: CoveredSegmentWrite,
): Promise<{ policies: ChangePolicy[]; requestId: string | null } | null> {
  // Most installations cover no segments anywhere: then no lock and no scan of the configs.
  if (!(await anyPolicyCovers(tx, 'segments'))) return null;
  const current = await findSegment(tx, write.segmentKey, true);
  if (!current) return null;
  const policies = await coveringPolicies(tx, write.segmentKey);
  if (policies.length === 0) return null;
  if (write.bypass) return { policies, requestId: null };
  if (write.expectedVersion !== undefined && write.expectedVersion !== current.version) {
    throw new PreconditionFailedError(`Version ${write.expectedVersion} of segment '${current.key}' is stale; the current version is ${current.version}`, {
      current_version: current.version,
    });
  }
  const before = await snapshot(tx, current);
  // A delete of a segment still in use is not refused here: it applies once approved only if by then
  // no flag uses it (else `failed`), so approvers can approve a retirement while configs move off it.
  const proposed = write.edit.op === 'delete' ? null : proposedBy(before, write.edit);
  const strictest = strictestOf(policies);
  const environments = policies.map((p) => p.environment);
  const requiredApprovals = strictest.required_approvals;
  const requestId = await insertChangeRequest(tx, {
    kind: 'segment', source: write.source, flagKey: null, segmentKey: current.key, environment: strictest.environment, environments,
    author: { id: write.meta.actor.id, name: write.meta.actor.name }, reason: write.meta.reason ?? null,
    baseVersion: current.version, baseConfig: presentSegment(current), proposed, diff: segmentDiff(before, proposed),
    applyAt: null, requiredApprovals,
  });
  await appendAuditEvent(tx, {
    userId: write.meta.actor.id, action: 'change_request.created', resourceType: 'change_request', resourceId: current.key,
    environment: strictest.environment, oldValue: presentSegment(current), newValue: proposed, reason: write.meta.reason ?? null,
    ipAddress: write.meta.ipAddress ?? null, userAgent: write.meta.userAgent ?? null,
    metadata: { actorName: write.meta.actor.name, changeRequestId: requestId, segment: current.key, environments, baseVersion: current.version, source: write.source },
  });
  return { policies, requestId };
}

/** The 202's message of a segment request. */
export function segmentRequestMessage(segmentKey: string, policies: readonly ChangePolicy[], requestId: string, describeApprovers: (p: ChangePolicy) => string): string {
  const n = strictestOf(policies).required_approvals;
  const who = policies.map((p) => `${describeApprovers(p)} (${p.environment})`).join(' and ');
  return `Segment '${segmentKey}' is targeted in ${policies.map((p) => `'${p.environment}'`).join(', ')}, whose change policy requires ${n} approval${n === 1 ? '' : 's'} `
    + `from ${who}: the change was not applied; it waits as change request ${requestId}`;
}

/**
 * Who may decide a segment request: someone every environment it names allows under that environment's
 * current policy (strictest wins). An environment whose policy stopped covering segments no longer
 * counts; when none still does, the decider must at least be allowed to write segments.
 */
export async function requireSegmentApprover(
  tx: Queryable, request: ChangeRequestRecord, who: { subject: Subject }, mayApprove: (policy: ChangePolicy) => boolean,
  describeApprovers: (p: ChangePolicy) => string, verb: string,
): Promise<void> {
  let covered = false;
  for (const environment of request.environments) {
    const policy = await findPolicy(tx, environment);
    if (policy.required_approvals === 0 || !policy.covers.includes('segments')) continue;
    covered = true;
    if (!mayApprove(policy)) {
      throw new ForbiddenError(`Only ${describeApprovers(policy)} may ${verb} this segment change request: '${environment}'s policy covers it (every covering policy must allow the approver)`);
    }
  }
  if (!covered && (who.subject.kind !== 'user' || !isAllowed(who.subject, { resource: 'segment', action: 'write' }))) {
    throw new ForbiddenError(`Only users who may change segments may ${verb} this segment change request`);
  }
}

/** What a segment request wrote, to publish after the apply's transaction commits. */
export type SegmentPublication = { kind: 'update'; written: SegmentWrite } | { kind: 'delete'; key: string; version: number };

/** The segment service's own writes, which a segment request applies through. */
export type SegmentWriter = Pick<SegmentService, 'writeUpdate' | 'writeDelete' | 'publishWrite' | 'publishDelete'>;

/** Publishes what `applySegmentRequest` wrote (projection, L1, broadcast), as a direct edit does. */
export async function publishSegmentChange(writer: SegmentWriter, publication: SegmentPublication): Promise<void> {
  if (publication.kind === 'update') await writer.publishWrite(publication.written);
  else await writer.publishDelete(publication.key, publication.version);
}

/**
 * Why an approved segment request may no longer apply as its author and approvers, or null: the
 * author must still be an active user allowed to write (or delete) segments, every approver still
 * active and allowed to approve it under the covering policies as they are now; the bootstrap admin (no user row) stays allowed, as for flag requests (author-rights.ts).
 */
async function rightsLost(tx: Queryable, request: ChangeRequestRecord): Promise<string | null> {
  const action = request.proposed === null ? 'delete' : 'write';
  const author = await authorAccessLost(tx, request.author, { resource: 'segment', action }, `${action} segment '${request.segment}'`);
  if (author) return author;
  return approvalsLost(tx, request.approvals, async (approver) => {
    try {
      await requireSegmentApprover(tx, request, approver, (policy) => mayApprove(policy, approver, undefined), describeApprovers, 'approve');
      return null;
    } catch (error) {
      if (error instanceof ForbiddenError) return error.message;
      throw error;
    }
  });
}

/**
 * Applies an approved segment request in the caller's transaction (the request's row is locked and
 * `approved`): the author may still make the write and the approvers are still active (else
 * `failed`), the segment must still be at `base_version` and fall under no covered environment the
 * request did not name (else `conflicted`), and the change must still be valid (else `failed`: a
 * delete of a segment a flag still uses). The write is the segment service's own, audited as the
 * author's and marked with the request.
 */
export async function applySegmentRequest(
  tx: Queryable, request: ChangeRequestRecord, writer: SegmentWriter,
  finish: (status: 'conflicted' | 'failed', outcome: string) => Promise<ChangeRequestApplied>,
): Promise<ChangeRequestApplied & { segment?: SegmentPublication }> {
  const key = request.segment!;
  const lost = await rightsLost(tx, request);
  if (lost) return finish('failed', `${lost}; nothing was applied`);
  await lockSegmentUsers(tx, key); // before the segment's row: the lock order (segment-store.ts)
  const current = await findSegment(tx, key, true);
  if (!current) return finish('failed', `segment '${key}' no longer exists`);
  if (current.version !== request.base_version) {
    return finish('conflicted', `stale base: the request was made against segment version ${request.base_version}, the segment is now at version ${current.version}; nothing was overwritten`);
  }
  const added = (await coveringPolicies(tx, key)).map((p) => p.environment).filter((e) => !request.environments.includes(e));
  if (added.length) {
    return finish('conflicted', `the segment is now targeted in ${added.map((e) => `'${e}'`).join(', ')}, whose policy the approvals did not cover; make a new request`);
  }
  const approvedBy = request.approvals.map((a) => a.user_name);
  const meta: AuditMeta = {
    actor: request.author,
    reason: request.reason,
    auditMetadata: { changeRequestId: request.id, approvedBy, source: request.source },
  };
  let outcome: string;
  let publication: SegmentPublication;
  try {
    if (request.proposed === null) {
      const version = await writer.writeDelete(tx, key, undefined, meta);
      publication = { kind: 'delete', key, version };
      outcome = `segment '${key}' deleted (revision ${version})`;
    } else {
      const proposed = request.proposed as ProposedSegment;
      const written = await writer.writeUpdate(tx, key, {
        name: proposed.name, description: proposed.description, conditions: proposed.kind === 'rule' ? proposed.conditions : undefined,
        members: proposed.kind === 'list' ? proposed.members : undefined,
      }, request.base_version, meta);
      publication = { kind: 'update', written };
      outcome = `applied at segment version ${written.segment.version}`;
    }
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    return finish('failed', error.message);
  }
  const version = publication.kind === 'update' ? publication.written.segment.version : publication.version;
  await setChangeRequestStatus(tx, request.id, { status: 'applied', outcome, appliedVersion: version });
  return { status: 'applied', outcome, version, segment: publication };
}
