import { LRUCache } from 'lru-cache';
import type { Authenticator } from '../auth/principal.js';

const WINDOW_MS = 60_000;
/** Addresses remembered at once; the least recently failing go first. */
const MAX_ADDRESSES = 50_000;

/**
 * Failed authentications per client address: after `perMinute` failures in a minute-long window, the
 * address's unknown tokens are refused (429 with Retry-After) until the window ends, before any
 * token lookup. Guessing tokens, or flooding Postgres with lookups of bogus ones, then costs a
 * minute per `perMinute` tries. Tokens this process has seen valid (and not revoked) still pass:
 * behind a shared NAT or proxy one misbehaving client must not lock out everyone else there.
 * In-process; 0 turns it off.
 */
export class AuthFailureLimiter {
  private readonly windows = new LRUCache<string, { started: number; failures: number }>({ max: MAX_ADDRESSES });

  constructor(private readonly perMinute: number) {}

  /** Seconds the address must wait, or 0 when it may try. */
  retryAfter(address: string, now = Date.now()): number {
    if (this.perMinute <= 0) return 0;
    const window = this.windows.peek(address);
    if (!window || now - window.started >= WINDOW_MS || window.failures < this.perMinute) return 0;
    return Math.max(1, Math.ceil((window.started + WINDOW_MS - now) / 1000));
  }

  /** Seconds a request from `address` carrying `token` must wait, or 0 when it may go on. */
  retryAfterFor(address: string, token: string | null, authenticator: Pick<Authenticator, 'vouchesFor'>, now = Date.now()): number {
    const wait = this.retryAfter(address, now);
    if (wait === 0 || !token) return wait;
    return authenticator.vouchesFor?.(token) ? 0 : wait;
  }

  /** Counts one failed authentication from the address. */
  fail(address: string, now = Date.now()): void {
    if (this.perMinute <= 0) return;
    const window = this.windows.get(address);
    if (!window || now - window.started >= WINDOW_MS) this.windows.set(address, { started: now, failures: 1 });
    else window.failures += 1;
  }
}
