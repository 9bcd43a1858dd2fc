import type { Redis } from 'ioredis';
import type { FlagDefinition } from '../domain/flag.js';
import type { Logger } from '../logger.js';
import type { ChangeEvent, RedisProjection } from '../stores/projection.js';
import type { FlagSnapshot } from './flag-snapshot.js';

export interface SnapshotSyncDeps {
  snapshot: FlagSnapshot;
  projection: RedisProjection;
  /** A dedicated connection: a subscribed ioredis client can't run other commands. */
  subscriber: Redis;
  /** Each environment's revision in Postgres, the source of truth. */
  loadRevisions: () => Promise<Map<string, number>>;
  /** Definitions of an environment written after `sinceVersion`, to repair the projection. */
  loadFromDatabase: (environment: string, sinceVersion: number) => Promise<{ definitions: FlagDefinition[] }>;
  logger: Logger;
  reconcileIntervalMs?: number;
}

/** Keeps the L1 snapshot fresh: a full load at start, pub/sub pushes, and a version check every second. */
export class SnapshotSync {
  private timer: NodeJS.Timeout | undefined;
  private lastReconcileOk = false;
  private reconciling = false;
  readonly onChange = new Set<(change: ChangeEvent) => void>();

  constructor(private readonly deps: SnapshotSyncDeps) {}

  /** True while the last reconciliation reached Redis. */
  get redisHealthy(): boolean {
    return this.lastReconcileOk;
  }

  async start(): Promise<void> {
    const { subscriber, projection } = this.deps;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === projection.channel) this.receive(message);
    });
    // ioredis re-subscribes by itself after a reconnect.
    await subscriber.subscribe(projection.channel);
    await this.reconcile();
    this.timer = setInterval(() => void this.reconcile(), this.deps.reconcileIntervalMs ?? 1_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private receive(message: string): void {
    let change: ChangeEvent;
    try {
      change = JSON.parse(message) as ChangeEvent;
    } catch {
      this.deps.logger.warn({ message }, 'ignored an unreadable change message');
      return;
    }
    if (this.deps.snapshot.apply(change.definition)) for (const listener of this.onChange) listener(change);
  }

  /** Compares with the projection and pulls what this process missed; repairs a lost or lagging projection. */
  async reconcile(): Promise<void> {
    if (this.reconciling) return;
    this.reconciling = true;
    const { snapshot, projection, logger } = this.deps;
    try {
      const revisions = await this.deps.loadRevisions().catch(() => null); // Postgres may be down: serve on.
      const environments = new Set([...(await projection.environments()), ...snapshot.environmentKeys()]);
      for (const env of revisions?.keys() ?? []) environments.add(env);
      for (const environment of environments) {
        const projected = await projection.version(environment);
        const revision = revisions?.get(environment);
        if (revision !== undefined && (projected === null || projected < revision)) {
          // Redis restarted empty, or a write's projection step failed: rebuild from Postgres.
          const { definitions } = await this.deps.loadFromDatabase(environment, projected ?? 0);
          await projection.rebuild(environment, definitions, revision);
          for (const definition of definitions) await projection.publish({ event: 'flag.updated', definition });
          logger.info({ environment, flags: definitions.length, revision, projected }, 'repaired the projection from Postgres');
        }
        const changes = await projection.changes(environment);
        if (changes !== snapshot.changes(environment)) {
          const all = await projection.readAll(environment);
          snapshot.applyAll(environment, all.changes, all.definitions);
        }
      }
      this.lastReconcileOk = true;
    } catch (error) {
      if (this.lastReconcileOk) logger.warn({ err: error }, 'reconciliation failed; serving the last snapshot');
      this.lastReconcileOk = false;
    } finally {
      this.reconciling = false;
    }
  }
}
