import type { Logger } from '../logger.js';

/** Evaluations of one flag variant in one environment and minute (epoch ms of the minute's start). */
export interface EvaluationBucket {
  flagKey: string;
  environment: string;
  variant: string;
  minute: number;
  evaluations: number;
  errors: number;
  /** Epoch ms of the last evaluation counted. */
  lastEvaluated: number;
}

/** Where the rollups are kept (src/flag-metrics/evaluation-rollup-store.ts implements it over Postgres). */
export interface RollupStore {
  /** Adds the counts to the stored minutes (several replicas add to the same rows). */
  add(buckets: EvaluationBucket[]): Promise<void>;
  /** Deletes the minutes before `before`. */
  prune(before: Date): Promise<unknown>;
}

const MINUTE = 60_000;
/** How long per-minute rollups are kept: the flag page charts a day at most. */
export const ROLLUP_RETENTION_MS = 2 * 24 * 60 * MINUTE;
// Unflushable buckets (Postgres down) are kept this long, then dropped: memory stays bounded.
const MAX_PENDING_AGE_MS = 60 * MINUTE;
const PRUNE_EVERY_MS = 10 * MINUTE;

/**
 * Per-minute evaluation counts per flag, environment and variant: counted in process beside the
 * flag metrics (a map update on the hot path, no I/O) and added to Postgres in one statement every
 * few seconds, so charts exist whether or not anyone had a page open.
 */
export class EvaluationRollups {
  private pending = new Map<string, EvaluationBucket>();
  /** The pending bucket of the newest minute counted, by environment, flag and variant. */
  private current = new Map<string, Map<string, Map<string, EvaluationBucket>>>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private lastPrune = 0;

  constructor(
    private readonly store: RollupStore,
    private readonly logger?: Logger,
  ) {}

  /** Counts `n` evaluations at `now` (epoch ms). */
  count(environment: string, flagKey: string, variant: string, error: boolean, now: number, n = 1): void {
    const minute = now - (now % MINUTE);
    // The hot path finds the bucket of this minute through nested maps, without building its key.
    let byFlag = this.current.get(environment);
    if (!byFlag) this.current.set(environment, (byFlag = new Map()));
    let byVariant = byFlag.get(flagKey);
    if (!byVariant) byFlag.set(flagKey, (byVariant = new Map()));
    let bucket = byVariant.get(variant);
    if (!bucket || bucket.minute !== minute) {
      const key = `${environment}\u0000${flagKey}\u0000${variant}\u0000${minute}`;
      bucket = this.pending.get(key);
      if (!bucket) this.pending.set(key, (bucket = { flagKey, environment, variant, minute, evaluations: 0, errors: 0, lastEvaluated: now }));
      byVariant.set(variant, bucket);
    }
    bucket.evaluations += n;
    if (error) bucket.errors += n;
    if (now > bucket.lastEvaluated) bucket.lastEvaluated = now;
  }

  start(intervalMs = 5_000): void {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Writes what was counted; on failure the counts stay pending (up to an hour) for the next try. */
  flush(now = Date.now()): Promise<void> {
    this.flushing ??= this.flushOnce(now).finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async flushOnce(now: number): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.current = new Map();
    if (batch.size > 0) {
      try {
        await this.store.add([...batch.values()]);
      } catch (error) {
        for (const [key, bucket] of batch) {
          if (now - bucket.minute > MAX_PENDING_AGE_MS) continue;
          const newer = this.pending.get(key);
          if (newer) {
            newer.evaluations += bucket.evaluations;
            newer.errors += bucket.errors;
            newer.lastEvaluated = Math.max(newer.lastEvaluated, bucket.lastEvaluated);
          } else this.pending.set(key, bucket);
        }
        this.logger?.warn({ err: error }, 'evaluation rollups flush deferred');
        return;
      }
    }
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.store.prune(new Date(now - ROLLUP_RETENTION_MS)).catch((error) =>
        this.logger?.warn({ err: error }, 'evaluation rollups prune failed'));
    }
  }
}
