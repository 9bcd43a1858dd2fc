/** The outcome of asking for one request's worth of budget. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
  /** When the bucket last moved to the end of the recency order. */
  movedAt: number;
}

// Moving a bucket in the recency order costs a delete and a set; once a second is recent enough.
const MOVE_EVERY_MS = 1_000;

const ALLOWED: RateDecision = { allowed: true };
const DEFAULT_MAX_BUCKETS = 100_000;

/**
 * Per-token rate limiting with a token bucket per caller: `perSecond` requests a second on
 * average, bursts up to `burst`. In-process, so with N API processes a caller gets up to N×.
 * A `perSecond` of 0 turns limiting off. At most `maxBuckets` callers are remembered, so callers
 * an attacker makes up (random tokens, random trigger URLs) cannot grow memory without bound.
 */
export class RateLimiter {
  // Kept in least-recently-used order (to the second): a touched bucket moves to the end.
  private readonly buckets = new Map<string, Bucket>();
  /** takePair's keys, by caller and address. */
  private readonly pairKeys = new Map<string, Map<string, string>>();
  private pairKeyCount = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst = perSecond,
    private readonly maxBuckets = DEFAULT_MAX_BUCKETS,
  ) {}

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** How many callers are remembered (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes one request from `caller`'s bucket, or says how long to wait before the next one fits. */
  take(caller: string, now = Date.now()): RateDecision {
    if (this.perSecond <= 0) return ALLOWED;
    let bucket = this.buckets.get(caller);
    if (bucket) {
      bucket.tokens = Math.min(this.burst, bucket.tokens + (Math.max(0, now - bucket.updatedAt) / 1000) * this.perSecond);
      bucket.updatedAt = Math.max(bucket.updatedAt, now);
      if (now - bucket.movedAt >= MOVE_EVERY_MS) {
        bucket.movedAt = now;
        this.buckets.delete(caller);
        this.buckets.set(caller, bucket);
      }
    } else {
      if (this.buckets.size >= this.maxBuckets) this.makeRoom();
      bucket = { tokens: this.burst, updatedAt: now, movedAt: now };
      this.buckets.set(caller, bucket);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return ALLOWED;
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond)) };
  }

  /**
   * take() for the bucket of one caller at one address (a per-address share of the caller's budget).
   * The pair's key is kept, so that a request builds and hashes no new string; the kept keys are
   * bounded like the buckets (all forgotten at once when full: rebuilt on the next request).
   */
  takePair(caller: string, address: string, now = Date.now()): RateDecision {
    if (this.perSecond <= 0) return ALLOWED;
    let byAddress = this.pairKeys.get(caller);
    let key = byAddress?.get(address);
    if (key === undefined) {
      if (this.pairKeyCount >= this.maxBuckets) {
        this.pairKeys.clear();
        this.pairKeyCount = 0;
        byAddress = undefined;
      }
      if (!byAddress) this.pairKeys.set(caller, (byAddress = new Map()));
      key = `${caller}\u0000${address}`;
      byAddress.set(address, key);
      this.pairKeyCount++;
    }
    return this.take(key, now);
  }

  // Forgets the least recently used caller: O(1), unlike a scan for refilled buckets, which a flood
  // of made-up callers would turn into a full scan per request. A forgotten caller starts again with
  // a full burst, which is what it would have after a minute of silence anyway.
  private makeRoom(): void {
    const oldest = this.buckets.keys().next();
    if (!oldest.done) this.buckets.delete(oldest.value);
  }
}
