import { LRUCache } from 'lru-cache';
import { NotFoundError, RateLimitedError } from '../errors.js';
import type { AuthFailureLimiter } from '../serving/auth-failure-limiter.js';

/** Secrets remembered as belonging to a trigger, at most (a trigger's own is the one it keeps sending). */
const MAX_KNOWN_SECRETS = 10_000;

/**
 * The door of the trigger hook, before any transaction: a secret already seen to belong to a trigger
 * passes at once; any other is looked up with one indexed read (no transaction, no lock), and a secret
 * that belongs to no trigger counts as a failed authentication of the caller's address, on the same
 * per-address budget as bogus tokens (AUTH_FAILURES_PER_MINUTE). An address past its budget gets 429
 * before any lookup, so guessing secrets (or flooding Postgres with bogus ones) costs a minute per
 * budget, while a known trigger keeps working from an address that also sends garbage.
 */
export class TriggerSecretGuard {
  private readonly known = new LRUCache<string, true>({ max: MAX_KNOWN_SECRETS });

  constructor(
    private readonly exists: (secretHash: string) => Promise<boolean>,
    private readonly failures?: AuthFailureLimiter,
  ) {}

  /** Throws RateLimitedError (429) for an address past its budget, NotFoundError (404) for a secret of no trigger. */
  async admit(secretHash: string, address: string): Promise<void> {
    if (this.known.has(secretHash)) return;
    const wait = this.failures?.retryAfter(address) ?? 0;
    if (wait > 0) throw new RateLimitedError(`Too many failed authentications from this address; retry after ${wait} s`, wait);
    if (!(await this.exists(secretHash))) {
      this.failures?.fail(address);
      throw new NotFoundError('No trigger at this address');
    }
    this.known.set(secretHash, true);
  }

  /** After the transaction found no enabled trigger for a secret that passed (disabled or deleted since). */
  forget(secretHash: string): void {
    this.known.delete(secretHash);
  }
}
