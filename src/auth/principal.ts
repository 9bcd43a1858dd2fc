import { createHash, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../stores/database.js';
import { findLiveTokenByHash, recordTokenUsage } from '../stores/token-store.js';
import type { Grant, Role } from './rbac.js';

export type { Role } from './rbac.js';

/** Who did something, as written into the audit log. */
export interface Actor {
  id: string;
  name: string;
  role: Role;
}

/** The authenticated caller of a request. */
export type Principal =
  | { kind: 'user'; actor: Actor; tokenId: string | null; grants: readonly Grant[] }
  | { kind: 'client' | 'server'; tokenId: string; environment: string };

export const BOOTSTRAP_ACTOR: Actor = { id: 'bootstrap-admin', name: 'bootstrap admin (RIPCORD_ADMIN_TOKEN)', role: 'admin' };

/** Tokens are stored as SHA-256 digests: high-entropy secrets need no slow hash, and lookups stay O(1). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Resolves a bearer token to its principal (null when unknown or revoked). */
export interface Authenticator {
  authenticate(token: string): Promise<Principal | null>;
}

/** The stored-token authenticator: cached lookups, invalidation on change, batched `last_used_at`. */
export interface TokenAuthenticator extends Authenticator {
  /** Forgets every cached token (after a revocation, a role or grant change, a deactivation). */
  invalidate(): void;
  /** Writes the pending `last_used_at` times (also done on a timer). */
  flushUsage(): Promise<void>;
  /** Stops the timer and flushes. */
  close(): Promise<void>;
}

export interface AuthenticatorOptions {
  /** How long a lookup is trusted; invalidation on change is immediate, this is the backstop. */
  cacheTtlMs?: number;
  /** How often `last_used_at` is written: one batched UPDATE, never a write per request. */
  usageFlushMs?: number;
  onFlushError?: (error: unknown) => void;
}

/** Resolves bearer tokens: the bootstrap admin token from the environment, else a stored API token. */
export function createAuthenticator(db: Queryable, bootstrapToken: string | undefined, options: AuthenticatorOptions = {}): TokenAuthenticator {
  const ttl = options.cacheTtlMs ?? 10_000;
  const bootstrapDigest = bootstrapToken ? Buffer.from(hashToken(bootstrapToken), 'hex') : null;
  // Evaluation must not cost a Postgres round trip per request, nor fail while Postgres is down.
  const cache = new Map<string, { principal: Principal | null; expires: number }>();
  // A lookup that started before an invalidation must not re-fill the cache with what it read.
  let generation = 0;
  const usage = new Map<string, number>();

  async function flushUsage(): Promise<void> {
    if (usage.size === 0) return;
    const entries = [...usage];
    usage.clear();
    try {
      await recordTokenUsage(db, entries);
    } catch (error) {
      // Keep the newest time of each token for the next attempt.
      for (const [id, at] of entries) if ((usage.get(id) ?? 0) < at) usage.set(id, at);
      options.onFlushError?.(error);
    }
  }
  const timer = setInterval(() => void flushUsage(), options.usageFlushMs ?? 5_000);
  timer.unref();

  return {
    async authenticate(token) {
      const digest = hashToken(token);
      if (bootstrapDigest && timingSafeEqual(Buffer.from(digest, 'hex'), bootstrapDigest)) {
        return { kind: 'user', actor: BOOTSTRAP_ACTOR, tokenId: null, grants: [] };
      }
      const cached = cache.get(digest);
      let principal: Principal | null;
      if (cached && cached.expires > Date.now()) {
        principal = cached.principal;
      } else {
        const started = generation;
        const token = await findLiveTokenByHash(db, digest);
        principal = !token
          ? null
          : token.kind === 'admin'
            ? { kind: 'user', actor: { id: token.user!.id, name: token.user!.name, role: token.user!.role }, tokenId: token.id, grants: token.user!.grants }
            : { kind: token.kind, tokenId: token.id, environment: token.environment! };
        if (started === generation) cache.set(digest, { principal, expires: Date.now() + ttl });
      }
      if (principal?.tokenId) usage.set(principal.tokenId, Date.now());
      return principal;
    },
    invalidate() {
      generation += 1;
      cache.clear();
    },
    flushUsage,
    async close() {
      clearInterval(timer);
      await flushUsage();
    },
  };
}
