import type { Authenticator, Principal } from '../auth/principal.js';

const STALE_LIMIT_MS = 24 * 60 * 60 * 1000;
const MAX_REMEMBERED = 100_000;

/**
 * Evaluation must not fail because Postgres is down: when a token lookup throws, the last answer
 * this process had for that token is served (stale-if-error, up to a day), and only a token never
 * seen before is refused. Concurrent lookups of one token are shared. Every other member of the inner authenticator (invalidate, close…) is
 * kept as it is.
 */
export function resilientAuthenticator<A extends Authenticator>(inner: A): A {
  const lastKnown = new Map<string, { principal: Principal | null; at: number }>();
  // Concurrent requests with the same token share one lookup: when the inner cache expires under
  // load, one query goes to Postgres instead of one per connection.
  const inFlight = new Map<string, Promise<Principal | null>>();
  const lookup = (token: string): Promise<Principal | null> => {
    let pending = inFlight.get(token);
    if (!pending) {
      pending = inner.authenticate(token).finally(() => inFlight.delete(token));
      inFlight.set(token, pending);
    }
    return pending;
  };
  const wrapped = Object.create(inner) as A;
  wrapped.authenticate = async (token: string) => {
    try {
      const principal = await lookup(token);
      const known = lastKnown.get(token);
      if (known) {
        known.principal = principal;
        known.at = Date.now();
      } else if (lastKnown.size < MAX_REMEMBERED) {
        lastKnown.set(token, { principal, at: Date.now() });
      }
      return principal;
    } catch (error) {
      const known = lastKnown.get(token);
      if (known && Date.now() - known.at < STALE_LIMIT_MS) return known.principal;
      throw error;
    }
  };
  return wrapped;
}
