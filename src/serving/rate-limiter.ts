/** The outcome of asking for one request's worth of budget. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

const ALLOWED: RateDecision = { allowed: true };
const MAX_BUCKETS = 100_000;

/**
 * Per-token rate limiting with a token bucket per caller: `perSecond` requests a second on
 * average, bursts up to `burst`. In-process, so with N API processes a caller gets up to N×.
 * A `perSecond` of 0 turns limiting off.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst = perSecond,
  ) {}

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** Takes one request from `caller`'s bucket, or says how long to wait before the next one fits. */
  take(caller: string, now = Date.now()): RateDecision {
    if (this.perSecond <= 0) return ALLOWED;
    let bucket = this.buckets.get(caller);
    if (!bucket) {
      if (this.buckets.size >= MAX_BUCKETS) this.evictFull(now);
      bucket = { tokens: this.burst, updatedAt: now };
      this.buckets.set(caller, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.perSecond);
      bucket.updatedAt = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return ALLOWED;
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond)) };
  }

  // Buckets that have refilled completely carry no state worth keeping.
  private evictFull(now: number): void {
    for (const [caller, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.perSecond >= this.burst) this.buckets.delete(caller);
    }
  }
}
