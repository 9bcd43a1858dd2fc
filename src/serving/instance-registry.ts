import {
  CONFIRMING_KINDS, DELIVERED_KINDS, MAX_NAMED_BEHIND,
  type InstanceAggregate, type InstanceKind, type InstanceLaggard, type VersionCount,
} from '../domain/sdk-instances.js';

/** What an instance says about itself (or what a stream says for it): never user data. */
export interface InstanceReport {
  id: string;
  kind: InstanceKind;
  environment: string;
  app: string | null;
  app_version: string | null;
  host: string | null;
  sdk_version: string | null;
  /** The environment version it serves (flagd: the one last written to its stream). */
  version: number;
}

/** Who reported it, for the caps: the token (or user) and the client address. Kept, never shown. */
export interface InstanceOwner {
  key: string;
  address: string;
}

/** One instance as GET /api/v1/instances lists it. */
export interface InstanceView extends InstanceReport {
  connected_since: string;
  last_seen: string;
  /** Versions of the environment this replica serves that the instance does not hold yet. */
  versions_behind: number;
  /** How long it has been behind (0 when current): since this replica began serving the first version it lacks. */
  lag_ms: number;
  /** The replica it reports to. */
  replica: string;
  /** How a change's confirmation counts it: remote-mode SDKs hold no copy (every answer comes from a replica). */
  counted_as: 'confirmed' | 'delivered' | 'not_counted';
}

interface InstanceRecord extends InstanceReport {
  versionAt: number;
  connectedSince: number;
  lastSeen: number;
  owner: InstanceOwner;
  /** Held by a stream of this process (OFREP, flagd): it leaves when the stream closes, not by expiry. */
  bound: boolean;
}

/** Per environment: the instances and how many of the counted ones hold each version. */
interface EnvironmentInstances {
  byId: Map<string, InstanceRecord>;
  held: Map<number, { count: number; at: number }>;
  delivered: Map<number, { count: number; at: number }>;
  /** Recent versions this replica began serving, ascending, to tell how long an instance has lagged. */
  changes: Array<[version: number, at: number]>;
}

export interface InstanceRegistryOptions {
  /** The replica's id (instances are listed with it). */
  replica: string;
  /** The environment version this replica serves. */
  served: (environment: string) => number;
  /** An instance silent for this long leaves the count. */
  expiryMs: number;
  /** Instances this process keeps at most; 0: no limit. */
  maxInstances: number;
  /** Instances one client address may report to this process; 0: no limit. */
  maxPerAddress: number;
  /** Called (batched) with the environments whose aggregate should be published now. */
  publish: (environments: string[]) => void;
  /** While some instances lag, progress is published at most this often. */
  progressMs?: number;
  now?: () => number;
}

const MAX_CHANGES_KEPT = 256;

/**
 * The SDK instances reporting to this API replica, in memory. Each report updates one record and
 * two counters; an environment's aggregate (counts by version and the laggards named) is handed to
 * `publish` once all its instances hold what this replica serves (one aggregate per change), and at
 * most every `progressMs` while some still lag. Instances silent for `expiryMs` are swept out.
 */
export class InstanceRegistry {
  private readonly environments = new Map<string, EnvironmentInstances>();
  private readonly perAddress = new Map<string, number>();
  private count = 0;
  private readonly now: () => number;
  private readonly dueNow = new Set<string>();
  private readonly dueLater = new Set<string>();
  private scheduled = false;
  private progressTimer: ReturnType<typeof setTimeout> | undefined;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: InstanceRegistryOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.count;
  }

  start(sweepEveryMs = Math.max(100, Math.min(1_000, this.options.expiryMs / 4))): void {
    this.sweepTimer = setInterval(() => this.sweep(), sweepEveryMs);
    this.sweepTimer.unref?.();
  }

  stop(): void {
    clearInterval(this.sweepTimer);
    clearTimeout(this.progressTimer);
  }

  /** This replica began serving `version` of an environment (SnapshotSync's change feed). */
  changed(environment: string, version: number, at = this.now()): void {
    const changes = this.env(environment).changes;
    const last = changes[changes.length - 1];
    if (last && last[0] >= version) return;
    changes.push([version, at]);
    if (changes.length > MAX_CHANGES_KEPT) changes.splice(0, changes.length - MAX_CHANGES_KEPT);
  }

  /** Why a new instance from this owner is refused, or null when it fits (a known instance always fits). */
  refusal(id: string, environment: string, owner: InstanceOwner): string | null {
    if (this.environments.get(environment)?.byId.has(id)) return null;
    const { maxInstances, maxPerAddress } = this.options;
    if (maxInstances > 0 && this.count >= maxInstances) return `This API process already tracks ${maxInstances} SDK instances (INSTANCES_MAX_PER_PROCESS)`;
    if (maxPerAddress > 0 && (this.perAddress.get(owner.address) ?? 0) >= maxPerAddress) {
      return `This address already reports ${maxPerAddress} SDK instances (INSTANCES_MAX_PER_ADDRESS)`;
    }
    return null;
  }

  /**
   * Records a report (a new instance, a heartbeat or a newer version). Returns false when the caps
   * refuse a new instance. An instance that reports another environment moves there.
   */
  report(report: InstanceReport, owner: InstanceOwner, options: { bound?: boolean } = {}): boolean {
    const now = this.now();
    for (const [name, other] of this.environments) {
      if (name !== report.environment && other.byId.has(report.id)) this.remove(report.id, name);
    }
    const env = this.env(report.environment);
    const known = env.byId.get(report.id);
    if (!known) {
      if (this.refusal(report.id, report.environment, owner) !== null) return false;
      const record: InstanceRecord = { ...report, versionAt: now, connectedSince: now, lastSeen: now, owner, bound: options.bound ?? false };
      env.byId.set(report.id, record);
      this.count += 1;
      this.perAddress.set(owner.address, (this.perAddress.get(owner.address) ?? 0) + 1);
      this.countIn(env, record, +1);
      this.due(report.environment);
      return true;
    }
    known.lastSeen = now;
    known.app = report.app;
    known.app_version = report.app_version;
    known.host = report.host;
    known.sdk_version = report.sdk_version;
    if (report.version > known.version || report.kind !== known.kind) {
      this.countIn(env, known, -1);
      known.kind = report.kind;
      if (report.version > known.version) {
        known.version = report.version;
        known.versionAt = now;
      }
      this.countIn(env, known, +1);
      this.due(report.environment);
    }
    return true;
  }

  /** Raises the version an instance holds (a stream wrote it, or a re-fetch proved it); false when unknown. */
  raise(id: string, environment: string, version: number): boolean {
    const env = this.environments.get(environment);
    const known = env?.byId.get(id);
    if (!env || !known) return false;
    known.lastSeen = this.now();
    if (version <= known.version) return true;
    this.countIn(env, known, -1);
    known.version = version;
    known.versionAt = this.now();
    this.countIn(env, known, +1);
    this.due(environment);
    return true;
  }

  /** Whether the instance reports to this replica in that environment. */
  has(id: string, environment: string): boolean {
    return this.environments.get(environment)?.byId.has(id) ?? false;
  }

  remove(id: string, environment: string): boolean {
    const env = this.environments.get(environment);
    const known = env?.byId.get(id);
    if (!env || !known) return false;
    env.byId.delete(id);
    this.count -= 1;
    const left = (this.perAddress.get(known.owner.address) ?? 1) - 1;
    if (left <= 0) this.perAddress.delete(known.owner.address);
    else this.perAddress.set(known.owner.address, left);
    this.countIn(env, known, -1);
    this.due(environment);
    return true;
  }

  /** Removes the instances silent for longer than the expiry (streams are removed when they close). */
  sweep(): number {
    const cutoff = this.now() - this.options.expiryMs;
    let removed = 0;
    for (const [name, env] of this.environments) {
      for (const record of [...env.byId.values()]) {
        if (!record.bound && record.lastSeen < cutoff && this.remove(record.id, name)) removed += 1;
      }
    }
    return removed;
  }

  /** Environments that have instances here. */
  environmentKeys(): string[] {
    return [...this.environments].filter(([, env]) => env.byId.size > 0).map(([name]) => name);
  }

  /** This replica's aggregate of an environment: counts by version and the counted instances furthest behind. */
  aggregate(environment: string): InstanceAggregate {
    const env = this.environments.get(environment);
    if (!env) return { held: [], delivered: [], behind: [] };
    const served = this.options.served(environment);
    const behind: InstanceLaggard[] = [];
    if (!this.converged(env, served)) {
      for (const record of env.byId.values()) {
        if (!isCounted(record.kind) || record.version >= served) continue;
        behind.push({ id: record.id, kind: record.kind, app: record.app, host: record.host, version: record.version });
      }
      behind.sort((a, b) => a.version - b.version || a.id.localeCompare(b.id));
      behind.length = Math.min(behind.length, MAX_NAMED_BEHIND);
    }
    return { held: counts(env.held), delivered: counts(env.delivered), behind };
  }

  /** Every environment's aggregate (what the replica heartbeat carries). */
  aggregates(): Record<string, InstanceAggregate> {
    return Object.fromEntries(this.environmentKeys().map((name) => [name, this.aggregate(name)]));
  }

  /** The instances of an environment, laggards first (most versions behind, then longest behind), at most `limit`. */
  list(environment: string, limit: number): { instances: InstanceView[]; total: number } {
    const env = this.environments.get(environment);
    if (!env) return { instances: [], total: 0 };
    const served = this.options.served(environment);
    const now = this.now();
    const views = [...env.byId.values()].map((record): InstanceView => {
      const behind = Math.max(0, served - record.version);
      return {
        id: record.id, kind: record.kind, environment, app: record.app, app_version: record.app_version, host: record.host,
        sdk_version: record.sdk_version, version: record.version,
        connected_since: new Date(record.connectedSince).toISOString(), last_seen: new Date(record.lastSeen).toISOString(),
        versions_behind: behind, lag_ms: behind === 0 ? 0 : Math.max(0, now - behindSince(env.changes, record.version, record.connectedSince)),
        replica: this.options.replica,
        counted_as: CONFIRMING_KINDS.has(record.kind) ? 'confirmed' : DELIVERED_KINDS.has(record.kind) ? 'delivered' : 'not_counted',
      };
    });
    views.sort(laggardsFirst);
    return { instances: views.slice(0, limit), total: views.length };
  }

  private env(environment: string): EnvironmentInstances {
    let env = this.environments.get(environment);
    if (!env) this.environments.set(environment, (env = { byId: new Map(), held: new Map(), delivered: new Map(), changes: [] }));
    return env;
  }

  private countIn(env: EnvironmentInstances, record: InstanceRecord, delta: 1 | -1): void {
    const counts = CONFIRMING_KINDS.has(record.kind) ? env.held : DELIVERED_KINDS.has(record.kind) ? env.delivered : undefined;
    if (!counts) return;
    const entry = counts.get(record.version);
    if (delta > 0) {
      if (entry) {
        entry.count += 1;
        entry.at = Math.max(entry.at, record.versionAt);
      } else counts.set(record.version, { count: 1, at: record.versionAt });
    } else if (entry) {
      entry.count -= 1;
      if (entry.count <= 0) counts.delete(record.version);
    }
  }

  private converged(env: EnvironmentInstances, served: number): boolean {
    for (const version of env.held.keys()) if (version < served) return false;
    for (const version of env.delivered.keys()) if (version < served) return false;
    return true;
  }

  /**
   * Schedules the environment's aggregate: at once (after the current burst of reports) when every
   * instance holds what this replica serves, otherwise with the next progress tick.
   */
  private due(environment: string): void {
    const env = this.environments.get(environment)!;
    if (this.converged(env, this.options.served(environment))) {
      this.dueLater.delete(environment);
      this.dueNow.add(environment);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flushNow());
      }
      return;
    }
    this.dueLater.add(environment);
    this.progressTimer ??= setTimeout(() => {
      this.progressTimer = undefined;
      const environments = [...this.dueLater];
      this.dueLater.clear();
      if (environments.length > 0) this.options.publish(environments);
    }, this.options.progressMs ?? 250);
  }

  private flushNow(): void {
    this.scheduled = false;
    const environments = [...this.dueNow];
    this.dueNow.clear();
    if (environments.length > 0) this.options.publish(environments);
  }
}

function isCounted(kind: InstanceKind): boolean {
  return CONFIRMING_KINDS.has(kind) || DELIVERED_KINDS.has(kind);
}

function counts(map: Map<number, { count: number; at: number }>): VersionCount[] {
  return [...map].map(([version, { count, at }]): VersionCount => [version, count, at]).sort((a, b) => a[0] - b[0]);
}

/** When this replica began serving the first version newer than `held` (when the instance came, if that is forgotten). */
function behindSince(changes: Array<[number, number]>, held: number, connectedSince: number): number {
  for (const [version, at] of changes) if (version > held) return at;
  return connectedSince;
}

function laggardsFirst(a: InstanceView, b: InstanceView): number {
  return b.versions_behind - a.versions_behind || b.lag_ms - a.lag_ms || a.last_seen.localeCompare(b.last_seen) || a.id.localeCompare(b.id);
}
