import type { Actor } from '../auth/principal.js';
import { defaultConfigFor, flagConfigInputSchemaFor, type FlagConfig, type FlagDefinition, type FlagType } from '../domain/flag.js';
import { ConflictError, fieldIssues, NotFoundError, PreconditionFailedError, ValidationError } from '../errors.js';
import { appendAuditEvent } from '../stores/audit-store.js';
import { withTransaction, type Database } from '../stores/database.js';
import {
  findConfig, findFlag, insertFlag, listConfigs, listEnvironments, nextRevision, saveConfig,
  type ConfigRecord, type FlagRecord,
} from '../stores/flag-store.js';
import type { FlagPublisher } from './flag-publisher.js';

/** Where a change came from, for the audit log. */
export interface RequestMeta {
  actor: Actor;
  ipAddress?: string | null;
  userAgent?: string | null;
}

export interface NewFlagInput {
  key: string;
  name: string;
  description?: string;
  type: FlagType;
  tags?: string[];
}

/** The seed's FeatureFlag: one flag in one environment, with its version. */
export function toFeatureFlag(flag: FlagRecord, config: ConfigRecord) {
  return {
    id: flag.id,
    key: flag.key,
    name: flag.name,
    description: flag.description,
    type: flag.type,
    ...config.config,
    version: config.version,
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

/** Flag definitions and per-environment configs: each change is one transaction with its audit event, then projected. */
export function createFlagService(deps: { db: Database; publisher: FlagPublisher }) {
  const { db, publisher } = deps;

  async function requireFlag(key: string): Promise<FlagRecord> {
    const flag = await findFlag(db, key);
    if (!flag || flag.archivedAt) throw new NotFoundError(`Flag '${key}' does not exist`);
    return flag;
  }

  return {
    /** Creates a flag with a default (off) config in every environment. */
    async createFlag(input: NewFlagInput, meta: RequestMeta) {
      const definitions: FlagDefinition[] = [];
      const flag = await withTransaction(db, async (tx) => {
        const created = await insertFlag(tx, {
          key: input.key, name: input.name, description: input.description ?? '', type: input.type,
          tags: input.tags ?? [], actor: meta.actor.id,
        });
        if (!created) throw new ConflictError(`A flag with key '${input.key}' already exists`, [{ path: 'key', message: 'already exists' }]);
        for (const env of await listEnvironments(tx)) {
          const version = (await nextRevision(tx, env.key))!;
          const config = defaultConfigFor(input.type);
          await saveConfig(tx, created.id, env.key, config, version, meta.actor.id);
          definitions.push({ key: created.key, type: created.type, environment: env.key, version, config });
        }
        await appendAuditEvent(tx, {
          userId: meta.actor.id, action: 'flag.created', resourceType: 'flag', resourceId: created.key,
          newValue: { ...input }, ipAddress: meta.ipAddress, userAgent: meta.userAgent, metadata: { actorName: meta.actor.name },
        });
        return created;
      });
      await Promise.all(definitions.map((definition) => publisher.publish(definition, 'flag.updated')));
      return { ...flag, environments: Object.fromEntries(definitions.map((d) => [d.environment, { ...d.config, version: d.version }])) };
    },

    /** The flag and its config in every environment. */
    async getFlag(key: string) {
      const flag = await requireFlag(key);
      const configs = await listConfigs(db, flag.id);
      return { ...flag, environments: Object.fromEntries(configs.map((c) => [c.environment, { ...c.config, version: c.version }])) };
    },

    /** The seed's FeatureFlag shape for one environment. */
    async getConfig(key: string, environment: string) {
      const flag = await requireFlag(key);
      const config = await findConfig(db, flag.id, environment);
      if (!config) throw new NotFoundError(`Environment '${environment}' does not exist`);
      return toFeatureFlag(flag, config);
    },

    /**
     * Replaces a flag's config in one environment. `expectedVersion` (If-Match) guards against lost
     * updates; the kill switch is kept as it is (it changes only through its own route).
     */
    async updateConfig(key: string, environment: string, body: unknown, expectedVersion: number | undefined, meta: RequestMeta) {
      const flag = await requireFlag(key);
      const parsed = flagConfigInputSchemaFor(flag.type).safeParse(body);
      if (!parsed.success) throw new ValidationError('The flag config is invalid', fieldIssues(parsed.error.issues));
      const { definition, record } = await withTransaction(db, async (tx) => {
        const existing = await findConfig(tx, flag.id, environment, true);
        if (!existing) throw new NotFoundError(`Environment '${environment}' does not exist`);
        if (expectedVersion !== undefined && expectedVersion !== existing.version) {
          throw new PreconditionFailedError(`Version ${expectedVersion} is stale; the current version is ${existing.version}`, {
            currentVersion: existing.version,
          });
        }
        const version = (await nextRevision(tx, environment))!;
        const config: FlagConfig = { ...parsed.data, kill_switch: existing.config.kill_switch };
        await saveConfig(tx, flag.id, environment, config, version, meta.actor.id);
        await appendAuditEvent(tx, {
          userId: meta.actor.id, action: 'flag.config.updated', resourceType: 'flag', resourceId: flag.key, environment,
          oldValue: existing.config, newValue: config, ipAddress: meta.ipAddress, userAgent: meta.userAgent,
          metadata: { actorName: meta.actor.name, version },
        });
        const saved = (await findConfig(tx, flag.id, environment))!;
        return { definition: { key: flag.key, type: flag.type, environment, version, config } satisfies FlagDefinition, record: saved };
      });
      await publisher.publish(definition, 'flag.updated');
      return toFeatureFlag(flag, record);
    },
  };
}

export type FlagService = ReturnType<typeof createFlagService>;
