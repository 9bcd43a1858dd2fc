import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/** What one API process announces about itself: who it is and which version of each environment it serves. */
export interface ReplicaState {
  replica: string;
  host: string;
  pid: number;
  started_at: string;
  /** When this state was written (ISO time). */
  at: string;
  environments: Record<string, { version: number }>;
}

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
    };
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
