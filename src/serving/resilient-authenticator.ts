import { LRUCache } from 'lru-cache';
import { MAX_CACHED_TOKENS, MAX_TOKEN_LENGTH, hashToken, touchedBy, type Authenticator, type CredentialChange, type Principal } from '../auth/principal.js';

const STALE_LIMIT_MS = 24 * 60 * 60 * 1000;

/**
 * Evaluation must not fail because Postgres is down: when a token lookup throws, the last principal
 * this process resolved for that token is served (stale-if-error, up to a day), and only a token never
 * seen before is refused. Revocation wins over that memory: a credential change (announced over
 * pub/sub, or a lookup that no longer finds the token) forgets the tokens it touches, so a revoked
 * token is refused during an outage instead of coming back. Only successes are remembered, keyed by
 * digest, in a bounded LRU. Concurrent lookups of one token are shared. Every other member of the
 * inner authenticator (close…) is kept as it is; `invalidate` reaches both layers.
 */
export function resilientAuthenticator<A extends Authenticator & { invalidate(change?: CredentialChange): void }>(inner: A): A {
  const lastKnown = new LRUCache<string, { principal: Principal; at: number }>({ max: MAX_CACHED_TOKENS });
  // Concurrent requests with the same token share one lookup: when the inner cache expires under
  // load, one query goes to Postgres instead of one per connection.
  const inFlight = new Map<string, Promise<Principal | null>>();
  const lookup = (token: string, digest: string): Promise<Principal | null> => {
    let pending = inFlight.get(digest);
    if (!pending) {
      pending = inner.authenticate(token).finally(() => inFlight.delete(digest));
      inFlight.set(digest, pending);
    }
    return pending;
  };
  const wrapped = Object.create(inner) as A;
  // A token the inner cache holds was looked up (and remembered below) moments ago.
  wrapped.cached = (token: string) => inner.cached?.(token);
  wrapped.vouchesFor = (token: string) => {
    if (token.length > MAX_TOKEN_LENGTH) return false;
    if (inner.vouchesFor?.(token)) return true;
    const known = lastKnown.get(hashToken(token));
    return known !== undefined && Date.now() - known.at < STALE_LIMIT_MS;
  };
  wrapped.authenticate = async (token: string) => {
    if (token.length > MAX_TOKEN_LENGTH) return null;
    const hot = inner.cached?.(token);
    if (hot) return hot;
    const digest = hashToken(token);
    try {
      const principal = await lookup(token, digest);
      if (principal) lastKnown.set(digest, { principal, at: Date.now() });
      else lastKnown.delete(digest);
      return principal;
    } catch (error) {
      const known = lastKnown.get(digest);
      if (known && Date.now() - known.at < STALE_LIMIT_MS) return known.principal;
      throw error;
    }
  };
  wrapped.invalidate = (change?: CredentialChange) => {
    for (const [digest, { principal }] of lastKnown.entries()) if (touchedBy(principal, change)) lastKnown.delete(digest);
    inner.invalidate(change);
  };
  return wrapped;
}
