import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { InstanceAggregate } from '../domain/sdk-instances.js';

/** What one API process announces about itself: who it is and which version of each environment it serves. */
export interface ReplicaState {
  replica: string;
  host: string;
  pid: number;
  started_at: string;
  /** When this state was written (ISO time). */
  at: string;
  environments: Record<string, { version: number }>;
  /** The SDK instances reporting to this replica, aggregated per environment (absent before they existed). */
  instances?: Record<string, InstanceAggregate>;
}

/** One replica's new instance aggregates, announced on `<prefix>:instances` as soon as they change. */
export interface InstancesMessage {
  replica: string;
  instances: Record<string, InstanceAggregate>;
}

export const instancesChannel = (prefix = 'ripcord') => `${prefix}:instances`;

/** The key a replica's heartbeat lives under: `<prefix>:replicas:<replica id>`. */
export const replicaKey = (replica: string, prefix = 'ripcord') => `${prefix}:replicas:${replica}`;

/**
 * Publishes this process's served versions to Redis every interval, as a JSON string under
 * `ripcord:replicas:<id>` that expires after `ttlMs` so that dead replicas disappear by themselves.
 */
export class ReplicaHeartbeat {
  readonly replica = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly startedAt = new Date().toISOString();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      redis: Redis;
      served: () => Record<string, { version: number }>;
      /** The SDK instances' aggregates, per environment. */
      instances?: () => Record<string, InstanceAggregate>;
      logger?: Logger;
      intervalMs?: number;
      ttlMs?: number;
      prefix?: string;
    },
  ) {}

  state(): ReplicaState {
    return {
      replica: this.replica, host: hostname(), pid: process.pid, started_at: this.startedAt,
      at: new Date().toISOString(), environments: this.deps.served(),
      ...(this.deps.instances ? { instances: this.deps.instances() } : {}),
    };
  }

  /**
   * Announces changed instance aggregates at once: the heartbeat is rewritten (late readers see them)
   * and the aggregates are published (waiters hear them): two commands in one round trip, per replica
   * and change, whatever the number of instances.
   */
  async announceInstances(environments: readonly string[]): Promise<void> {
    const { redis, ttlMs = 15_000, prefix } = this.deps;
    if (redis.status !== 'ready' || environments.length === 0) return;
    const state = this.state();
    const message: InstancesMessage = { replica: this.replica, instances: Object.fromEntries(environments.map((env) => [env, state.instances?.[env] ?? { held: [], delivered: [], behind: [] }])) };
    await redis.pipeline()
      .set(replicaKey(this.replica, prefix), JSON.stringify(state), 'PX', ttlMs)
      .publish(instancesChannel(prefix), JSON.stringify(message))
      .exec()
      .catch((err: unknown) => this.deps.logger?.debug({ err }, 'could not announce instance aggregates; the next heartbeat carries them'));
  }

  /**
   * Writes one heartbeat; a Redis failure is skipped (the key expires, which is the truth: we can't
   * tell). The 15 s expiry outlasts the 5 s a kill's confirmation waits, so a replica cut off from
   * Redis just before a kill is still counted, and named as a laggard, rather than silently dropped.
   */
  async beat(): Promise<void> {
    const { redis, ttlMs = 15_000, prefix } = this.deps;
    if (redis.status !== 'ready') return;
    await redis.set(replicaKey(this.replica, prefix), JSON.stringify(this.state()), 'PX', ttlMs).catch(() => undefined);
  }

  start(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.deps.intervalMs ?? 1_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    const { redis, prefix } = this.deps;
    if (redis.status === 'ready') await redis.del(replicaKey(this.replica, prefix)).catch(() => undefined);
  }
}

/** Every live replica's last heartbeat (for kill convergence: who still serves an older version). */
export async function listReplicas(redis: Redis, prefix = 'ripcord'): Promise<ReplicaState[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:replicas:*`, 'COUNT', 200);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(keys);
  return values.flatMap((value) => {
    if (!value) return [];
    try {
      return [JSON.parse(value) as ReplicaState];
    } catch {
      return [];
    }
  });
}
