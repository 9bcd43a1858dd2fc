import { z } from 'zod';
import type { Condition, FlagDefinition } from '../domain/flag.js';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../errors.js';
import type { Logger } from '../logger.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { withTransaction, type Database, type Queryable } from '../connections/database.js';
import { findFlag, loadDefinitions, lockEnvironments, nextRevision, saveConfig } from '../flags/flag-store.js';
import type { SegmentProjection } from '../cache/segment-projection.js';
import {
  addMembers, allMembers, clearMembers, hasMember, deleteSegmentRow, findSegment, insertSegment, listMembers, listSegments, nextSegmentRevision,
  lockSegmentUsers, removeMembers, segmentUsage, toEngineSegment, updateSegmentRow, type SegmentRecord,
} from './segment-store.js';
import { decodeCursor, encodeCursor } from '../protocol/cursor.js';
import type { FlagPublisher } from '../cache/flag-publisher.js';
import { auditFrom, type AccessCheck, type AuditMeta } from '../auth/request-meta.js';
import type { SegmentSync } from '../cache/segment-sync.js';

export type NewSegmentInput =
  | { key: string; name?: string; description?: string; kind: 'rule'; conditions: Condition[] }
  | { key: string; name?: string; description?: string; kind: 'list'; members?: string[] };

export interface SegmentUpdate {
  name?: string;
  description?: string;
  conditions?: Condition[];
  /** Replaces every member of a list segment. */
  members?: string[];
}

export interface SegmentServiceDeps {
  db: Database;
  projection: SegmentProjection;
  publisher: FlagPublisher;
  /** This process's segment sync, so its own L1 has a change before the pub/sub round trip. */
  sync?: Pick<SegmentSync, 'applyLocal' | 'removeLocal'>;
  logger: Logger;
}

/** What a segment update wrote, to publish after its transaction commits. */
export interface SegmentWrite {
  segment: SegmentRecord;
  /** The new member list when it was replaced. */
  members: string[] | undefined;
  /** The flag configs re-versioned because they target the segment. */
  flags: FlagDefinition[];
}

/** The API shape of a segment (members are paged separately: a list may hold 100 000). */
export function presentSegment(segment: SegmentRecord) {
  return {
    id: segment.id,
    key: segment.key,
    name: segment.name,
    description: segment.description,
    kind: segment.kind,
    ...(segment.kind === 'rule' ? { conditions: segment.conditions } : {}),
    user_count: segment.userCount,
    version: segment.version,
    created_by: segment.createdBy,
    created_at: segment.createdAt,
    updated_by: segment.updatedBy,
    updated_at: segment.updatedAt,
  };
}

const AUDITED_MEMBERS = 1_000;
const allow: AccessCheck = () => undefined;
const keyCursor = z.object({ k: z.string() });

/** Members in an audit event: the list when small, else its size (the members table has them). */
function membersForAudit(members: readonly string[] | undefined) {
  if (!members) return {};
  return members.length <= AUDITED_MEMBERS ? { members: [...members] } : { members_count: members.length };
}

/**
 * Segments: rule segments (conditions) and list segments (members in Postgres, precomputed into a Redis
 * set). A change is one transaction with its audit event; flags that target the segment get a new
 * version in the same transaction, so every replica recompiles them and ETags and streams notice.
 */
export function createSegmentService(deps: SegmentServiceDeps) {
  const { db } = deps;

  async function requireSegment(tx: Queryable, key: string, forUpdate = false): Promise<SegmentRecord> {
    // The configs that use it first: the lock order (segment-store.ts lockSegmentUsers).
    if (forUpdate) await lockSegmentUsers(tx, key);
    const segment = await findSegment(tx, key, forUpdate);
    if (!segment) throw new NotFoundError(`Segment '${key}' does not exist`);
    return segment;
  }

  function checkVersion(expected: number | undefined, segment: SegmentRecord) {
    if (expected !== undefined && expected !== segment.version) {
      throw new PreconditionFailedError(`Version ${expected} of segment '${segment.key}' is stale; the current version is ${segment.version}`, {
        current_version: segment.version,
      });
    }
  }

  /** Gives every live flag config that targets the segment a new version (same config), to be published. */
  async function reversionDependents(tx: Queryable, key: string, actor: string): Promise<FlagDefinition[]> {
    const usage = (await segmentUsage(tx, key)).filter((u) => !u.archived);
    // Every environment row before any flag row (saveConfig marks the flag changed).
    await lockEnvironments(tx, [...new Set(usage.map((u) => u.environment))].sort());
    const definitions: FlagDefinition[] = [];
    for (const { flag, environment } of usage) {
      const [current] = await loadDefinitions(tx, environment, { flagKey: flag });
      if (!current || current.archived) continue;
      const version = (await nextRevision(tx, environment))!;
      const { id } = (await findFlag(tx, flag))!;
      await saveConfig(tx, id, environment, current.config, version, actor);
      definitions.push({ ...current, version });
    }
    return definitions;
  }

  /** After commit: projection first (so a reconcile never reads it missing), then L1, then the announcements. */
  async function project(segment: SegmentRecord, members: string[] | undefined, flags: FlagDefinition[]) {
    const engineSegment = toEngineSegment(segment, segment.kind === 'list' ? (members ?? (await allMembers(db, segment.id))) : []);
    try {
      await deps.projection.write(engineSegment, segment.version);
    } catch (error) {
      deps.logger.warn({ err: error, segment: segment.key }, 'segment projection deferred; the reconciler repairs it from Postgres');
    }
    deps.sync?.applyLocal(engineSegment, segment.version);
    await deps.projection.publish({ event: 'segment.updated', key: segment.key, version: segment.version }).catch(() => undefined);
    await Promise.all(flags.map((definition) => deps.publisher.publish(definition, 'flag.updated')));
  }

  /**
   * A segment update in the caller's transaction (the segment row locked, its dependents re-versioned,
   * one audit event); publish what it returns with `publishWrite` after the commit. A direct edit and
   * an approved change request both write this way.
   */
  async function writeUpdate(tx: Queryable, key: string, update: SegmentUpdate, expectedVersion: number | undefined, meta: AuditMeta): Promise<SegmentWrite> {
    const members = update.members ? [...new Set(update.members)] : undefined;
    const before = await requireSegment(tx, key, true);
    checkVersion(expectedVersion, before);
    if (before.kind === 'rule' && members) throw new ConflictError(`Segment '${key}' is a rule segment; it takes conditions, not members`);
    if (before.kind === 'list' && update.conditions) throw new ConflictError(`Segment '${key}' is a list segment; it takes members, not conditions`);
    const version = await nextSegmentRevision(tx);
    if (members) {
      await clearMembers(tx, before.id);
      await addMembers(tx, before.id, members);
    }
    const after = await updateSegmentRow(tx, before.id, { name: update.name, description: update.description, conditions: update.conditions }, version, meta.actor.id);
    const reversioned = await reversionDependents(tx, key, meta.actor.id);
    await appendAuditEvent(tx, {
      ...auditFrom(meta), action: 'segment.updated', resourceType: 'segment', resourceId: key,
      oldValue: presentSegment(before), newValue: { ...presentSegment(after), ...membersForAudit(members) },
      metadata: { actorName: meta.actor.name, flags: reversioned.map((d) => ({ flag: d.key, environment: d.environment, version: d.version })), ...meta.auditMetadata },
    });
    return { segment: after, members, flags: reversioned };
  }

  /** After the commit of `writeUpdate`: projection, this process's L1, the announcements. */
  async function publishWrite(written: SegmentWrite) {
    await project(written.segment, written.members, written.flags);
  }

  /** A segment delete in the caller's transaction (409 naming the flags that use it); returns the revision for `publishDelete`. */
  async function writeDelete(tx: Queryable, key: string, expectedVersion: number | undefined, meta: AuditMeta): Promise<number> {
    const before = await requireSegment(tx, key, true);
    checkVersion(expectedVersion, before);
    const usage = await segmentUsage(tx, key);
    if (usage.length) {
      const flags = [...new Set(usage.map((u) => u.flag))];
      throw new ConflictError(`Segment '${key}' is used by ${flags.map((f) => `'${f}'`).join(', ')}; remove it from their targeting first`, usage);
    }
    const revision = await nextSegmentRevision(tx);
    await deleteSegmentRow(tx, before.id);
    await appendAuditEvent(tx, {
      ...auditFrom(meta), action: 'segment.deleted', resourceType: 'segment', resourceId: key, oldValue: presentSegment(before),
      metadata: { actorName: meta.actor.name, version: revision, ...meta.auditMetadata },
    });
    return revision;
  }

  /** After the commit of `writeDelete`: the projection, this process's L1, the announcement. */
  async function publishDelete(key: string, version: number) {
    await deps.projection.remove(key, version).catch((error) => deps.logger.warn({ err: error, segment: key }, 'segment removal deferred'));
    deps.sync?.removeLocal(key, version);
    await deps.projection.publish({ event: 'segment.deleted', key, version }).catch(() => undefined);
  }

  return {
    /** Creates a segment; the segment commands decide who may. */
    async create(input: NewSegmentInput, meta: AuditMeta) {
      const members = input.kind === 'list' ? [...new Set(input.members ?? [])] : undefined;
      const segment = await withTransaction(db, async (tx) => {
        const version = await nextSegmentRevision(tx);
        const created = await insertSegment(tx, {
          key: input.key, name: input.name ?? '', description: input.description ?? '', kind: input.kind,
          conditions: input.kind === 'rule' ? input.conditions : [], version, actor: meta.actor.id,
        });
        if (!created) throw new ConflictError(`A segment with key '${input.key}' already exists`, [{ path: 'body.key', message: 'already exists' }]);
        if (members?.length) await addMembers(tx, created.id, members);
        const saved = await updateSegmentRow(tx, created.id, {}, version, meta.actor.id);
        await appendAuditEvent(tx, {
          ...auditFrom(meta), action: 'segment.created', resourceType: 'segment', resourceId: input.key,
          newValue: { ...presentSegment(saved), ...membersForAudit(members) },
        });
        return saved;
      });
      await project(segment, members, []);
      return presentSegment(segment);
    },

    async get(key: string, guard: AccessCheck = allow) {
      guard({ resource: 'segment', action: 'read' });
      const segment = await requireSegment(db, key);
      return { ...presentSegment(segment), used_by: await segmentUsage(db, key) };
    },

    async list(query: { kind?: 'rule' | 'list'; q?: string; limit: number; cursor?: string }, guard: AccessCheck = allow) {
      guard({ resource: 'segment', action: 'read' });
      const after = decodeCursor(query.cursor, keyCursor)?.k;
      const rows = await listSegments(db, { kind: query.kind, text: query.q, after, limit: query.limit + 1 });
      const page = rows.slice(0, query.limit);
      return { segments: page.map(presentSegment), next_cursor: rows.length > query.limit ? encodeCursor({ k: page.at(-1)!.key }) : null };
    },

    /** A page of a list segment's members, in order. */
    async members(key: string, query: { limit: number; cursor?: string }, guard: AccessCheck = allow) {
      guard({ resource: 'segment', action: 'read' });
      const segment = await requireSegment(db, key);
      if (segment.kind !== 'list') throw new ConflictError(`Segment '${key}' is a rule segment; it has no member list`);
      const after = decodeCursor(query.cursor, keyCursor)?.k;
      const members = await listMembers(db, segment.id, after, query.limit + 1);
      const page = members.slice(0, query.limit);
      return { members: page, user_count: segment.userCount, next_cursor: members.length > query.limit ? encodeCursor({ k: page.at(-1)! }) : null };
    },

    /** Whether a targeting key is a member: one SISMEMBER on the precomputed set (Postgres when Redis is down). */
    async isMember(key: string, member: string, guard: AccessCheck = allow) {
      guard({ resource: 'segment', action: 'read' });
      const segment = await requireSegment(db, key);
      if (segment.kind !== 'list') throw new ConflictError(`Segment '${key}' is a rule segment; it has no member list`);
      try {
        return { member, in_segment: await deps.projection.isMember(key, member), source: 'redis' as const };
      } catch {
        return { member, in_segment: await hasMember(db, segment.id, member), source: 'postgres' as const };
      }
    },

    /** Replaces a segment's fields (and, for lists, members when given). Rights and the change policy are the segment commands'. */
    async update(key: string, update: SegmentUpdate, expectedVersion: number | undefined, meta: AuditMeta) {
      const written = await withTransaction(db, (tx) => writeUpdate(tx, key, update, expectedVersion, meta));
      await publishWrite(written);
      return presentSegment(written.segment);
    },

    writeUpdate,
    writeDelete,
    publishWrite,
    publishDelete,

    /** Adds and removes members of a list segment in one change. */
    async changeMembers(key: string, change: { add?: string[]; remove?: string[] }, expectedVersion: number | undefined, meta: AuditMeta) {
      const { segment, flags, added, removed } = await withTransaction(db, async (tx) => {
        const before = await requireSegment(tx, key, true);
        checkVersion(expectedVersion, before);
        if (before.kind !== 'list') throw new ConflictError(`Segment '${key}' is a rule segment; it has no member list`);
        const version = await nextSegmentRevision(tx);
        const removedCount = change.remove?.length ? await removeMembers(tx, before.id, change.remove) : 0;
        const addedCount = change.add?.length ? await addMembers(tx, before.id, change.add) : 0;
        const after = await updateSegmentRow(tx, before.id, {}, version, meta.actor.id);
        const reversioned = await reversionDependents(tx, key, meta.actor.id);
        await appendAuditEvent(tx, {
          ...auditFrom(meta), action: 'segment.members.changed', resourceType: 'segment', resourceId: key,
          oldValue: { user_count: before.userCount, version: before.version },
          newValue: {
            user_count: after.userCount, version: after.version, added: addedCount, removed: removedCount,
            ...(change.add && change.add.length <= AUDITED_MEMBERS ? { add: change.add } : {}),
            ...(change.remove && change.remove.length <= AUDITED_MEMBERS ? { remove: change.remove } : {}),
          },
          metadata: { actorName: meta.actor.name, flags: reversioned.map((d) => ({ flag: d.key, environment: d.environment, version: d.version })), ...meta.auditMetadata },
        });
        return { segment: after, flags: reversioned, added: addedCount, removed: removedCount };
      });
      await project(segment, undefined, flags);
      return { ...presentSegment(segment), added, removed };
    },

    /** Deletes a segment no flag uses; 409 naming the flags otherwise. */
    async delete(key: string, expectedVersion: number | undefined, meta: AuditMeta) {
      await publishDelete(key, await withTransaction(db, (tx) => writeDelete(tx, key, expectedVersion, meta)));
    },
  };
}

export type SegmentService = ReturnType<typeof createSegmentService>;
