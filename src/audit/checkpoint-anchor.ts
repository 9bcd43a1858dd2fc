import type { Redis } from 'ioredis';

const KEY = 'ripcord:audit:checkpoints';
/** How many of the newest checkpoints are kept (at the default interval, weeks of them). */
const KEEP = 1000;

/**
 * Signed audit checkpoints kept in Redis, by seq: outside PostgreSQL, so someone who owns the
 * database and deletes the newest audit rows (the checkpoint events with them: each is newer than
 * the head it signs) cannot also remove the evidence that those rows existed. More than the newest
 * is kept because after such a deletion new events would soon be checkpointed above the gap.
 */
export class CheckpointAnchor {
  constructor(private readonly redis: Redis) {}

  async save(checkpoint: { seq: number }): Promise<void> {
    await this.redis.multi().zadd(KEY, String(checkpoint.seq), JSON.stringify(checkpoint)).zremrangebyrank(KEY, '0', String(-KEEP - 1)).exec();
  }

  /** The stored checkpoints as written (the caller checks them), oldest first. */
  async all(): Promise<unknown[]> {
    return (await this.redis.zrange(KEY, '0', '-1')).map((raw) => JSON.parse(raw) as unknown);
  }
}
