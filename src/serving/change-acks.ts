import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/**
 * Acknowledged convergence. Every API process acknowledges each flag change the moment its L1
 * serves it: the highest acknowledged version per replica is kept in `<prefix>:acks:<env>:<flag>`
 * (a hash replica → "version:at", so a reader that arrives late sees what was acknowledged before
 * it looked) and announced on `<prefix>:acks` (so a waiter hears the rest at once). Both happen in
 * one Lua call, one round trip per batch of acknowledgements.
 */
export interface ChangeAck {
  replica: string;
  environment: string;
  flag: string;
  version: number;
  /** When the replica began serving it (ms since epoch). */
  at: number;
}

export const ackChannel = (prefix = 'ripcord') => `${prefix}:acks`;
export const ackKey = (environment: string, flag: string, prefix = 'ripcord') => `${prefix}:acks:${environment}:${flag}`;

/** How long a flag's acknowledgements are kept after its last one: long enough to read a kill's confirmation later. */
const ACK_TTL_MS = 7 * 24 * 3600 * 1000;

// Raises the replica's acknowledged version (never lowers it), then announces it.
const RECORD_ACK = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local acked = tonumber(string.match(current, '^(%d+)'))
  if acked and acked >= tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', KEYS[2], ARGV[5])
return 1`;

type RedisWithAck = Redis & {
  ripcordRecordAck(key: string, channel: string, replica: string, version: number, at: number, ttlMs: number, message: string): Promise<number>;
};

/** Sends this replica's acknowledgements; those that fail (Redis down) are retried until they land or are superseded. */
export class ChangeAcker {
  private readonly pending = new Map<string, ChangeAck>();
  private flushing = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly redis: RedisWithAck;
  /** Acknowledgements sent (for the metrics and the tests). */
  sent = 0;

  constructor(
    private readonly deps: { redis: Redis; replica: string; prefix?: string; logger?: Logger; retryMs?: number },
  ) {
    deps.redis.defineCommand('ripcordRecordAck', { numberOfKeys: 2, lua: RECORD_ACK });
    this.redis = deps.redis as RedisWithAck;
  }

  /**
   * Acknowledges that this replica serves `version` of a flag. It is written to Redis at once, before
   * the code that applied the change goes on: right after it, the same change is fanned out to every
   * stream client of this process in one synchronous loop (tens of milliseconds at 10,000 clients),
   * which a deferred ack would wait behind. Acks made while one is in flight (a full reload's burst)
   * share the next round trip.
   */
  ack(environment: string, flag: string, version: number, at = Date.now()): void {
    const id = `${environment}\u0000${flag}`;
    const queued = this.pending.get(id);
    if (queued && queued.version >= version) return;
    this.pending.set(id, { replica: this.deps.replica, environment, flag, version, at });
    void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.pending.size === 0) return;
    this.flushing = true;
    const batch = [...this.pending.values()];
    this.pending.clear();
    const prefix = this.deps.prefix ?? 'ripcord';
    try {
      const pipeline = this.redis.pipeline() as unknown as RedisWithAck & { exec(): Promise<Array<[Error | null, unknown]> | null> };
      for (const ack of batch) {
        void pipeline.ripcordRecordAck(ackKey(ack.environment, ack.flag, prefix), ackChannel(prefix), ack.replica, ack.version, ack.at, ACK_TTL_MS, JSON.stringify(ack));
      }
      const results = (await pipeline.exec()) ?? [];
      const failed = batch.filter((_, i) => results[i]?.[0]);
      this.sent += batch.length - failed.length;
      if (failed.length > 0) this.requeue(failed);
    } catch (error) {
      this.deps.logger?.debug({ err: error, acks: batch.length }, 'could not send acknowledgements; retrying');
      this.requeue(batch);
    } finally {
      this.flushing = false;
    }
    if (this.pending.size > 0 && !this.retryTimer) void this.flush();
  }

  private requeue(acks: ChangeAck[]): void {
    for (const ack of acks) {
      const id = `${ack.environment}\u0000${ack.flag}`;
      const queued = this.pending.get(id);
      if (!queued || queued.version < ack.version) this.pending.set(id, ack);
    }
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.flush();
    }, this.deps.retryMs ?? 250);
    this.retryTimer.unref();
  }

  /** Acknowledgements still waiting for Redis. */
  get backlog(): number {
    return this.pending.size;
  }

  stop(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}

/** What every replica has acknowledged for one flag: replica → {version, at}. */
export async function readAcks(redis: Redis, environment: string, flag: string, prefix = 'ripcord'): Promise<Map<string, { version: number; at: number }>> {
  const hash = await redis.hgetall(ackKey(environment, flag, prefix));
  const acks = new Map<string, { version: number; at: number }>();
  for (const [replica, value] of Object.entries(hash)) {
    const [version, at] = value.split(':').map(Number);
    if (Number.isFinite(version) && Number.isFinite(at)) acks.set(replica, { version: version!, at: at! });
  }
  return acks;
}

export function parseAck(message: string): ChangeAck | undefined {
  try {
    const ack = JSON.parse(message) as ChangeAck;
    return typeof ack?.replica === 'string' && typeof ack.version === 'number' ? ack : undefined;
  } catch {
    return undefined;
  }
}
