import type { AccessRequest } from '../auth/rbac.js';
import { parseConfigInput, requireKnownSegments } from './config-validation.js';
import { defaultConfigFor, type FlagConfig, type FlagDefinition, type FlagType } from '../domain/flag.js';
import { unknownFlag } from './unknown-flag.js';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from '../errors.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { withTransaction, type Database, type Queryable } from '../connections/database.js';
import {
  deleteFlagRow, findConfig, findFlag, flagRevision, insertFlag, listConfigs, listEnvironments, listFlags, lockEnvironments, lockFlag, lockFlagConfigs, nextRevision, saveConfig,
  setFlagArchived, updateFlagIdentity, type ConfigRecord, type FlagListFilter, type FlagRecord,
} from './flag-store.js';
import { decodeCursor, encodeCursor } from '../protocol/cursor.js';
import type { FlagPublisher } from '../cache/flag-publisher.js';
import { auditFrom, type AccessCheck, type AuditMeta } from '../auth/request-meta.js';
import { z } from 'zod';

export type { RequestMeta } from '../auth/request-meta.js';

export interface NewFlagInput {
  key: string;
  name: string;
  description?: string;
  type: FlagType;
  tags?: string[];
}

export interface FlagIdentityPatch {
  name?: string;
  description?: string;
  tags?: string[];
}

export interface FlagListQuery {
  tags?: string[];
  environment?: string;
  state?: FlagListFilter['state'];
  q?: string;
  limit: number;
  cursor?: string;
}

/** FeatureFlag: one flag in one environment, with its version. */
export function toFeatureFlag(flag: FlagRecord, config: ConfigRecord) {
  return {
    id: flag.id,
    key: flag.key,
    name: flag.name,
    description: flag.description,
    type: flag.type,
    ...config.config,
    version: config.version,
    archived: flag.archivedAt !== null,
    metadata: {
      created_by: flag.createdBy,
      created_at: flag.createdAt,
      updated_by: config.updatedBy,
      updated_at: config.updatedAt,
      tags: flag.tags,
      environment: config.environment,
    },
  };
}

/** A flag's identity in the API's shape. */
function presentFlag(flag: FlagRecord) {
  return {
    id: flag.id,
    key: flag.key,
    name: flag.name,
    description: flag.description,
    type: flag.type,
    tags: flag.tags,
    version: flag.version,
    archived: flag.archivedAt !== null,
    archived_at: flag.archivedAt,
    created_by: flag.createdBy,
    created_at: flag.createdAt,
    updated_by: flag.updatedBy,
    updated_at: flag.updatedAt,
  };
}

const allow: AccessCheck = () => undefined;
const listCursor = z.object({ k: z.string() });

/**
 * What copying a flag's config from `from` into `to` writes: the source's config without its kill
 * switch (the target keeps its own). The config commands decide the right to read the source.
 */
export async function copiedConfig(db: Queryable, flag: FlagRecord, from: string, to: string) {
  if (from === to) throw new ValidationError('Invalid request body', [{ path: 'body.from', message: 'must differ from the target environment' }]);
  const source = await findConfig(db, flag.id, from);
  if (!source) throw new NotFoundError(`Environment '${from}' does not exist`);
  const { kill_switch: _kill, ...config } = source.config;
  return { config, sourceVersion: source.version };
}

function checkVersion(expected: number | undefined, current: number, what: string) {
  if (expected !== undefined && expected !== current) {
    throw new PreconditionFailedError(`Version ${expected} of ${what} is stale; the current version is ${current}`, { current_version: current });
  }
}

/** Flag definitions and per-environment configs: each change is one transaction with its audit event, then projected. */
export function createFlagService(deps: { db: Database; publisher: FlagPublisher }) {
  const { db, publisher } = deps;

  /** Loads a flag, checking access once its tags are known; an unknown flag is checked without tags, then 404. */
  async function requireFlag(key: string, guard: AccessCheck, request: Omit<AccessRequest, 'tags' | 'resource'>, tx: Queryable = db, lock = false) {
    const flag = lock ? await lockFlag(tx, key) : await findFlag(tx, key);
    if (!flag) {
      guard({ ...request, resource: 'flag' });
      throw await unknownFlag(tx, key);
    }
    guard({ ...request, resource: 'flag', tags: flag.tags });
    return flag;
  }

  function requireLive(flag: FlagRecord) {
    if (flag.archivedAt) throw new ConflictError(`Flag '${flag.key}' is archived; unarchive it first`);
  }



  /** Writes the same config at a new version in every environment (archive, unarchive) and returns the definitions to publish. */
  async function rewriteAll(tx: Queryable, flag: FlagRecord, archived: boolean, actor: string): Promise<FlagDefinition[]> {
    const definitions: FlagDefinition[] = [];
    for (const config of await listConfigs(tx, flag.id)) {
      const version = (await nextRevision(tx, config.environment))!;
      await saveConfig(tx, flag.id, config.environment, config.config, version, actor);
      definitions.push({ key: flag.key, type: flag.type, environment: config.environment, version, config: config.config, ...(archived ? { archived: true } : {}) });
    }
    return definitions;
  }

  const publishAll = (definitions: FlagDefinition[]) => Promise.all(definitions.map((definition) => publisher.publish(definition, 'flag.updated')));

  async function withConfigs(flag: FlagRecord, only?: string) {
    const configs = (await listConfigs(db, flag.id)).filter((c) => only === undefined || c.environment === only);
    return { ...presentFlag(flag), environments: Object.fromEntries(configs.map((c) => [c.environment, { ...c.config, version: c.version }])) };
  }

  return {
    /** A flag's tags (for RBAC decisions made outside this service), undefined when the flag does not exist. */
    async tagsOf(key: string): Promise<string[] | undefined> {
      return (await findFlag(db, key))?.tags;
    },

    /** Creates a flag with a default (off) config in every environment. The flag commands (flag-commands.ts) decide who may, for this and every write below. */
    async createFlag(input: NewFlagInput, meta: AuditMeta) {
      const definitions: FlagDefinition[] = [];
      const flag = await withTransaction(db, async (tx) => {
        const created = await insertFlag(tx, {
          key: input.key, name: input.name, description: input.description ?? '', type: input.type,
          tags: input.tags ?? [], actor: meta.actor.id,
        });
        if (!created) throw new ConflictError(`A flag with key '${input.key}' already exists`, [{ path: 'body.key', message: 'already exists' }]);
        // Environment rows in key order, as every path that takes several takes them (archive's rewrite).
        const environments = (await listEnvironments(tx)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        for (const env of environments) {
          const version = (await nextRevision(tx, env.key))!;
          const config = defaultConfigFor(input.type);
          await saveConfig(tx, created.id, env.key, config, version, meta.actor.id);
          definitions.push({ key: created.key, type: created.type, environment: env.key, version, config });
        }
        await appendAuditEvent(tx, {
          ...auditFrom(meta), action: 'flag.created', resourceType: 'flag', resourceId: created.key, newValue: { ...input },
        });
        return (await findFlag(tx, created.key))!;
      });
      await publishAll(definitions);
      return { ...presentFlag(flag), environments: Object.fromEntries(definitions.map((d) => [d.environment, { ...d.config, version: d.version }])) };
    },

    /** Lists flags by key with filters; `only` restricts the environments shown (server tokens). */
    async listFlags(query: FlagListQuery, guard: AccessCheck = allow) {
      guard({ resource: 'flag', action: 'read', environment: query.environment });
      const after = decodeCursor(query.cursor, listCursor)?.k;
      const rows = await listFlags(db, {
        tags: query.tags, environment: query.environment, state: query.state, text: query.q, after, limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      return {
        flags: page.map((row) => ({ ...presentFlag(row), environments: row.environments })),
        next_cursor: rows.length > query.limit ? encodeCursor({ k: page.at(-1)!.key }) : null,
      };
    },

    /** The flag and its config in every environment (or only `only`). Archived flags are readable. */
    async getFlag(key: string, guard: AccessCheck = allow, only?: string) {
      const flag = await requireFlag(key, guard, { action: 'read', environment: only });
      // `revision` counts this flag's recorded changes; `version` (its ETag) is shared counters' business.
      return { ...(await withConfigs(flag, only)), revision: await flagRevision(db, key) };
    },

    /** The flag in one environment, as a FeatureFlag. */
    async getConfig(key: string, environment: string, guard: AccessCheck = allow) {
      const flag = await requireFlag(key, guard, { action: 'read', environment });
      const config = await findConfig(db, flag.id, environment);
      if (!config) throw new NotFoundError(`Environment '${environment}' does not exist`);
      return toFeatureFlag(flag, config);
    },

    /** Changes name, description or tags. Needs write on the old tags and on the new ones. */
    async updateFlag(key: string, patch: FlagIdentityPatch, expectedVersion: number | undefined, meta: AuditMeta) {
      const flag = await withTransaction(db, async (tx) => {
        const before = await requireFlag(key, allow, { action: 'write' }, tx, true);
        requireLive(before);
        checkVersion(expectedVersion, before.version, `flag '${key}'`);
        const after = await updateFlagIdentity(tx, before.id, patch, meta.actor.id);
        await appendAuditEvent(tx, {
          ...auditFrom(meta), action: 'flag.updated', resourceType: 'flag', resourceId: key,
          oldValue: { name: before.name, description: before.description, tags: before.tags },
          newValue: { name: after.name, description: after.description, tags: after.tags },
          metadata: { actorName: meta.actor.name, version: after.version },
        });
        return after;
      });
      return withConfigs(flag);
    },

    /** Archives a flag: it stops being served in every environment (FLAG_NOT_FOUND) but keeps its history. */
    async archiveFlag(key: string, expectedVersion: number | undefined, meta: AuditMeta) {
      return setArchived(key, true, expectedVersion, meta);
    },

    /** Brings an archived flag back with the configs it had. */
    async unarchiveFlag(key: string, expectedVersion: number | undefined, meta: AuditMeta) {
      return setArchived(key, false, expectedVersion, meta);
    },

    /** Deletes an archived flag for good (its audit trail stays). */
    async deleteFlag(key: string, expectedVersion: number | undefined, meta: AuditMeta) {
      await withTransaction(db, async (tx) => {
        await lockFlagConfigs(tx, key); // before the flag row: the lock order of flag-store.ts
        const flag = await requireFlag(key, allow, { action: 'delete' }, tx, true);
        if (!flag.archivedAt) throw new ConflictError(`Flag '${key}' must be archived before it is deleted`);
        checkVersion(expectedVersion, flag.version, `flag '${key}'`);
        const configs = await listConfigs(tx, flag.id);
        await deleteFlagRow(tx, flag.id);
        await appendAuditEvent(tx, {
          ...auditFrom(meta), action: 'flag.deleted', resourceType: 'flag', resourceId: key,
          oldValue: { ...presentFlag(flag), environments: Object.fromEntries(configs.map((c) => [c.environment, c.config])) },
        });
      });
    },

    /**
     * Replaces a flag's config in one environment. `expectedVersion` (If-Match) guards against lost
     * updates; the kill switch is kept as it is (it changes only through its own route). Callers'
     * rights and the change policy are the config commands' (config-commands.ts); this writes.
     */
    async updateConfig(key: string, environment: string, body: unknown, expectedVersion: number | undefined, meta: AuditMeta) {
      const flag = await requireFlag(key, allow, { action: 'write', environment });
      requireLive(flag);
      const config = parseConfigInput(flag.type, body, 'body');
      return writeConfig(flag, environment, expectedVersion, meta, 'flag.config.updated', () => config, {});
    },

    /** Copies a flag's config from one environment to another (the target keeps its own kill switch), as updateConfig writes. */
    async copyConfig(key: string, from: string, to: string, expectedVersion: number | undefined, meta: AuditMeta) {
      const flag = await requireFlag(key, allow, { action: 'write', environment: to });
      requireLive(flag);
      const { config, sourceVersion } = await copiedConfig(db, flag, from, to);
      return writeConfig(flag, to, expectedVersion, meta, 'flag.config.copied', () => config, { from, sourceVersion });
    },
  };

  async function writeConfig(
    flag: FlagRecord,
    environment: string,
    expectedVersion: number | undefined,
    meta: AuditMeta,
    action: string,
    next: () => Omit<FlagConfig, 'kill_switch'>,
    extra: Record<string, unknown>,
  ) {
    const { definition, record } = await withTransaction(db, async (tx) => {
      const existing = await findConfig(tx, flag.id, environment, true);
      if (!existing) throw new NotFoundError(`Environment '${environment}' does not exist`);
      checkVersion(expectedVersion, existing.version, `flag '${flag.key}' in '${environment}'`);
      // Archived between the first read and this lock?
      if ((await findFlag(tx, flag.key))?.archivedAt) requireLive({ ...flag, archivedAt: 'now' });
      const config: FlagConfig = { ...next(), kill_switch: existing.config.kill_switch };
      await requireKnownSegments(tx, config, 'body');
      const version = (await nextRevision(tx, environment))!;
      await saveConfig(tx, flag.id, environment, config, version, meta.actor.id);
      await appendAuditEvent(tx, {
        ...auditFrom(meta), action, resourceType: 'flag', resourceId: flag.key, environment,
        oldValue: existing.config, newValue: config, metadata: { actorName: meta.actor.name, version, ...extra, ...meta.auditMetadata },
      });
      const saved = (await findConfig(tx, flag.id, environment))!;
      return { definition: { key: flag.key, type: flag.type, environment, version, config } satisfies FlagDefinition, record: saved };
    });
    await publisher.publish(definition, 'flag.updated');
    return toFeatureFlag(flag, record);
  }

  async function setArchived(key: string, archive: boolean, expectedVersion: number | undefined, meta: AuditMeta) {
    const { flag, definitions } = await withTransaction(db, async (tx) => {
      await lockFlagConfigs(tx, key); // before the flag row: the lock order of flag-store.ts
      // The rewrite takes every environment's next revision: those rows before the flag row too.
      await lockEnvironments(tx, (await listEnvironments(tx)).map((e) => e.key).sort());
      const before = await requireFlag(key, allow, { action: 'delete' }, tx, true);
      if ((before.archivedAt !== null) === archive) throw new ConflictError(`Flag '${key}' is ${archive ? 'already' : 'not'} archived`);
      checkVersion(expectedVersion, before.version, `flag '${key}'`);
      const after = await setFlagArchived(tx, before.id, archive, meta.actor.id);
      const rewritten = await rewriteAll(tx, after, archive, meta.actor.id);
      await appendAuditEvent(tx, {
        ...auditFrom(meta), action: archive ? 'flag.archived' : 'flag.unarchived', resourceType: 'flag', resourceId: key,
        oldValue: { archived_at: before.archivedAt }, newValue: { archived_at: after.archivedAt },
        metadata: { actorName: meta.actor.name, version: after.version, versions: Object.fromEntries(rewritten.map((d) => [d.environment, d.version])) },
      });
      return { flag: after, definitions: rewritten };
    });
    await publishAll(definitions);
    return withConfigs(flag);
  }
}

export type FlagService = ReturnType<typeof createFlagService>;
