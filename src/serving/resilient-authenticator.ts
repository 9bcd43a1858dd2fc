import type { Authenticator, Principal } from '../auth/principal.js';

const STALE_LIMIT_MS = 24 * 60 * 60 * 1000;

/**
 * Evaluation must not fail because Postgres is down: when a token lookup throws, the last answer
 * this process had for that token is served (stale-if-error, up to a day), and only a token never
 * seen before is refused.
 */
export function resilientAuthenticator(inner: Authenticator): Authenticator {
  const lastKnown = new Map<string, { principal: Principal | null; at: number }>();
  return {
    async authenticate(token) {
      try {
        const principal = await inner.authenticate(token);
        const known = lastKnown.get(token);
        if (known) known.at = Date.now();
        else if (lastKnown.size < 100_000) lastKnown.set(token, { principal, at: Date.now() });
        if (known) known.principal = principal;
        return principal;
      } catch (error) {
        const known = lastKnown.get(token);
        if (known && Date.now() - known.at < STALE_LIMIT_MS) return known.principal;
        throw error;
      }
    },
  };
}
