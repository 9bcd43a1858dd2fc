import type { Redis } from 'ioredis';
import type { FlagDefinition } from '../domain/flag.js';
import { stateChangeBase } from '../domain/flag-change.js';
import type { Logger } from '../logger.js';
import type { ChangeEvent, RedisProjection } from './projection.js';
import { CacheStats } from './cache-stats.js';
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
  stats?: CacheStats;
  reconcileIntervalMs?: number;
  /** How long L1 may trail the projection before this replica stops reporting ready. */
  maxLagMs?: number;
}

/** An environment whose L1 trails the projection. */
/** Why a replica serves its last snapshot without vouching for it (evaluations answer reason STALE). */
export interface Staleness {
  reason: string;
  /** Since when (ms since epoch). */
  sinceMs: number;
}

export interface Lag {
  environment: string;
  served: number;
  projected: number;
  /** Since when L1 was last seen caught up (ms since epoch). */
  behindSinceMs: number;
}

const UNKNOWN_ENVIRONMENT_TTL_MS = 1_000;

/** Keeps the L1 snapshot fresh: a full load at start, pub/sub pushes, and a version check every second. */
export class SnapshotSync {
  private timer: NodeJS.Timeout | undefined;
  /** Set by stop(): a reconcile already in flight when the process shuts Redis down fails quietly. */
  private stopped = false;
  private lastReconcileOk = false;
  private lastReconcileAt = 0;
  private reconciling = false;
  private readonly startedAt = Date.now();
  private readonly caughtUpAt = new Map<string, number>();
  private readonly loading = new Map<string, Promise<boolean>>();
  private readonly unknown = new Map<string, number>();
  /** Each environment's projected version at the last reconciliation. */
  private readonly projectedAt = new Map<string, number>();
  private subscribed = false;
  private subscriptionLostAt: number | null = null;
  private reconcileAgain = false;
  readonly stats: CacheStats;
  /** Seconds from a change's announcement to this process taking it in (for the propagation metric). */
  readonly onPropagation = new Set<(seconds: number) => void>();
  /** Called once for every change this process's L1 takes in, however it arrived (push, local write, reconciliation). */
  readonly onChange = new Set<(change: ChangeEvent) => void>();

  constructor(private readonly deps: SnapshotSyncDeps) {
    this.stats = deps.stats ?? new CacheStats();
  }

  /** True while the last reconciliation reached Redis. */
  get redisHealthy(): boolean {
    return this.lastReconcileOk;
  }

  /** When the last reconciliation finished successfully (ms since epoch, 0 before the first). */
  get lastReconciledAt(): number {
    return this.lastReconcileAt;
  }

  async start(): Promise<void> {
    this.stopped = false;
    const { subscriber, projection } = this.deps;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === projection.channel) this.receive(message);
    });
    // Losing the subscription makes this replica stale at once: it can't hear changes any more.
    for (const event of ['close', 'end', 'reconnecting']) subscriber.on(event, () => this.subscriptionLost());
    // ioredis re-subscribes by itself after a reconnect; then pull what was missed right away,
    // instead of waiting for the next change or the next reconciliation.
    subscriber.on('ready', () => {
      if (!this.timer) return;
      this.subscriptionBack();
      void this.reconcile();
    });
    await subscriber.subscribe(projection.channel).then(
      () => this.subscriptionBack(),
      (error: unknown) => {
        this.subscriptionLost();
        this.deps.logger.warn({ err: error }, 'could not subscribe to changes yet; reconciliation covers until it can');
      },
    );
    await this.reconcile();
    this.timer = setInterval(() => void this.reconcile(), this.deps.reconcileIntervalMs ?? 1_000);
    this.timer.unref();
  }

  private subscriptionLost(): void {
    if (this.subscribed || this.subscriptionLostAt === null) {
      this.subscriptionLostAt = Date.now();
      if (this.subscribed) this.deps.logger.warn('lost the Redis subscription: serving the last snapshot as STALE');
    }
    this.subscribed = false;
  }

  private subscriptionBack(): void {
    if (!this.subscribed && this.subscriptionLostAt !== null) this.deps.logger.info('Redis subscription back: re-syncing');
    this.subscribed = true;
    this.subscriptionLostAt = null;
  }

  /**
   * Why this replica can't vouch for its snapshot, or null when it is current: its change
   * subscription is down, it has not reached Redis for longer than the allowed lag, or an
   * environment has trailed the projection for longer than that.
   */
  staleness(now = Date.now()): Staleness | null {
    const maxLag = this.deps.maxLagMs ?? 3_000;
    if (!this.subscribed) return { reason: 'the Redis change subscription is down', sinceMs: this.subscriptionLostAt ?? this.startedAt };
    const lastSync = this.lastReconcileAt || this.startedAt;
    if (now - lastSync > maxLag) return { reason: `no sync with Redis for ${((now - lastSync) / 1000).toFixed(1)} s`, sinceMs: lastSync };
    for (const [environment, projected] of this.projectedAt) {
      if (this.deps.snapshot.version(environment) >= projected) continue;
      const behindSince = this.caughtUpAt.get(environment) ?? this.startedAt;
      if (now - behindSince > maxLag) {
        return { reason: `${environment} serves version ${this.deps.snapshot.version(environment)} < projected ${projected}`, sinceMs: behindSince };
      }
    }
    return null;
  }

  /** Seconds each environment's L1 has trailed the projection as last seen (0 when caught up). */
  lagSeconds(now = Date.now()): Array<{ environment: string; seconds: number }> {
    return this.deps.snapshot.environmentKeys().map((environment) => {
      const projected = this.projectedAt.get(environment) ?? 0;
      const behind = this.deps.snapshot.version(environment) < projected;
      return { environment, seconds: behind ? (now - (this.caughtUpAt.get(environment) ?? this.startedAt)) / 1000 : 0 };
    });
  }

  /** Stops reconciling and listening (the snapshot stays as it is). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.deps.subscriber.unsubscribe(this.deps.projection.channel).catch(() => undefined);
  }

  /** Starts reconciling and listening again after stop(). */
  async resume(): Promise<void> {
    if (this.timer) return;
    this.stopped = false;
    await this.deps.subscriber.subscribe(this.deps.projection.channel).then(() => this.subscriptionBack(), () => this.subscriptionLost());
    await this.reconcile();
    this.timer = setInterval(() => void this.reconcile(), this.deps.reconcileIntervalMs ?? 1_000);
    this.timer.unref();
  }

  /** Applies a change made by this process at once (before the pub/sub round trip) and tells the listeners. */
  applyLocal(definition: FlagDefinition): void {
    this.take(definition);
  }

  private take(definition: FlagDefinition): void {
    const previous = this.deps.snapshot.definition(definition.environment, definition.key);
    const event = this.deps.snapshot.apply(definition);
    if (!event) return;
    const base = stateChangeBase(previous, definition);
    const change: ChangeEvent = base === undefined ? { event, definition } : { event, definition, base };
    for (const listener of this.onChange) {
      try {
        listener(change);
      } catch (error) {
        this.deps.logger.warn({ err: error }, 'a change listener failed');
      }
    }
  }

  private receive(message: string): void {
    let change: ChangeEvent;
    try {
      change = JSON.parse(message) as ChangeEvent;
    } catch {
      this.deps.logger.warn({ message }, 'ignored an unreadable change message');
      return;
    }
    if (!change?.definition?.environment) return;
    if (typeof change.at === 'number') {
      const seconds = Math.max(0, Date.now() - change.at) / 1000;
      for (const listener of this.onPropagation) listener(seconds);
    }
    this.take(change.definition);
  }

  /**
   * Makes sure L1 holds an environment, reading it from Redis (L2) or Postgres (L3) on a miss.
   * Unknown environments are remembered for a second so a caller can't make every request a lookup.
   */
  ensureEnvironment(environment: string): Promise<boolean> {
    if (this.deps.snapshot.hasEnvironment(environment)) return Promise.resolve(true);
    if ((this.unknown.get(environment) ?? 0) > Date.now()) return Promise.resolve(false);
    let pending = this.loading.get(environment);
    if (!pending) {
      pending = this.load(environment).finally(() => this.loading.delete(environment));
      this.loading.set(environment, pending);
    }
    return pending;
  }

  private async load(environment: string): Promise<boolean> {
    const { snapshot, projection } = this.deps;
    try {
      if ((await projection.version(environment)) !== null) {
        this.stats.l2Hits++;
        const all = await projection.readAll(environment);
        this.install(environment, all.changes, all.definitions, all.version);
      } else {
        this.stats.l2Misses++;
        const revision = (await this.deps.loadRevisions()).get(environment);
        if (revision !== undefined) await this.repair(environment, 0, revision);
      }
    } catch (error) {
      this.deps.logger.warn({ err: error, environment }, 'could not load an environment on demand');
    }
    if (snapshot.hasEnvironment(environment)) return true;
    this.unknown.set(environment, Date.now() + UNKNOWN_ENVIRONMENT_TTL_MS);
    return false;
  }

  /** Installs a full read, telling the listeners about each flag it changed. */
  private install(environment: string, changes: number, definitions: FlagDefinition[], version: number): void {
    for (const definition of definitions) this.take(definition);
    this.deps.snapshot.applyAll(environment, changes, [], version);
  }

  private async repair(environment: string, projected: number, revision: number): Promise<void> {
    const { projection, logger } = this.deps;
    let definitions: FlagDefinition[];
    try {
      ({ definitions } = await this.deps.loadFromDatabase(environment, projected));
      this.stats.l3Hits++;
    } catch (error) {
      this.stats.l3Misses++;
      throw error;
    }
    await projection.rebuild(environment, definitions, revision);
    for (const definition of definitions) await projection.publish({ event: 'flag.updated', definition });
    logger.info({ environment, flags: definitions.length, revision, projected }, 'repaired the projection from Postgres');
    const all = await projection.readAll(environment);
    this.install(environment, all.changes, all.definitions, all.version);
  }

  /** Compares with the projection and pulls what this process missed; repairs a lost or lagging projection. */
  async reconcile(): Promise<void> {
    if (this.reconciling) {
      // Asked while one runs (e.g. the subscription just came back): run once more right after.
      this.reconcileAgain = true;
      return;
    }
    this.reconciling = true;
    const { snapshot, projection, logger } = this.deps;
    try {
      const revisions = await this.deps.loadRevisions().catch(() => null); // Postgres may be down: serve on.
      const environments = new Set([...(await projection.environments()), ...snapshot.environmentKeys()]);
      for (const env of revisions?.keys() ?? []) environments.add(env);
      for (const environment of environments) {
        let projected = await projection.version(environment);
        if (projected === null) this.stats.l2Misses++;
        const revision = revisions?.get(environment);
        if (revision !== undefined && (projected === null || projected < revision)) {
          // Redis restarted empty, or a write's projection step failed: rebuild from Postgres.
          await this.repair(environment, projected ?? 0, revision);
          projected = revision;
        }
        const changes = await projection.changes(environment);
        if (changes !== snapshot.changes(environment) || (projected ?? 0) > snapshot.version(environment)) {
          this.stats.l2Hits++;
          const all = await projection.readAll(environment);
          this.install(environment, all.changes, all.definitions, all.version);
        }
        this.projectedAt.set(environment, projected ?? 0);
        if (snapshot.version(environment) >= (projected ?? 0)) this.caughtUpAt.set(environment, Date.now());
      }
      this.lastReconcileOk = true;
      this.lastReconcileAt = Date.now();
    } catch (error) {
      if (this.lastReconcileOk && !this.stopped) logger.warn({ err: error }, 'reconciliation failed; serving the last snapshot');
      this.lastReconcileOk = false;
    } finally {
      this.reconciling = false;
    }
    if (this.reconcileAgain) {
      this.reconcileAgain = false;
      await this.reconcile();
    }
  }

  /**
   * Environments whose L1 has trailed the live projection for longer than the allowed lag.
   * Reads Redis; rejects when Redis can't be reached (then lag can't be judged).
   */
  async lagging(now = Date.now()): Promise<Lag[]> {
    const { snapshot, projection } = this.deps;
    const maxLag = this.deps.maxLagMs ?? 3_000;
    const environments = new Set([...(await projection.environments()), ...snapshot.environmentKeys()]);
    const lagging: Lag[] = [];
    for (const environment of environments) {
      const projected = (await projection.version(environment)) ?? 0;
      const served = snapshot.version(environment);
      if (served >= projected) {
        this.caughtUpAt.set(environment, now);
        continue;
      }
      const behindSinceMs = this.caughtUpAt.get(environment) ?? this.startedAt;
      if (now - behindSinceMs > maxLag) lagging.push({ environment, served, projected, behindSinceMs });
    }
    return lagging;
  }
}
