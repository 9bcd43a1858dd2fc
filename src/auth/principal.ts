import { createHash, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Grant, Role } from './rbac.js';

export type { Role } from './rbac.js';

export type TokenKind = 'client' | 'server' | 'admin';

/** A live token as authentication needs it; admin tokens carry their (active) user with role and grants. */
export interface TokenIdentity {
  id: string;
  kind: TokenKind;
  environment: string | null;
  user: { id: string; name: string; role: Role; grants: Grant[] } | null;
}

/** The stored tokens, as authentication reads them (src/users/token-store.ts implements it over Postgres). */
export interface TokenLookup {
  /** The unrevoked token with this digest (an admin token only while its user is active), or null. */
  findLiveByHash(digest: string): Promise<TokenIdentity | null>;
  /** A live token by id (for credentials derived from a token, such as an OFREP event-stream channel). */
  findLiveById(id: string): Promise<TokenIdentity | null>;
  /** Records when tokens were last used; a time never moves backwards. */
  recordUsage(usage: ReadonlyArray<readonly [id: string, atMs: number]>): Promise<void>;
}

/** Who did something, as written into the audit log. */
export interface Actor {
  id: string;
  name: string;
  role: Role;
}

/** The authenticated caller of a request. */
export type Principal =
  | { kind: 'user'; actor: Actor; tokenId: string | null; grants: readonly Grant[]; /** Set when a sign-in session (cookie) authenticated the request. */ sessionId?: string }
  | { kind: 'client' | 'server'; tokenId: string; environment: string };

export const BOOTSTRAP_ACTOR: Actor = { id: 'bootstrap-admin', name: 'bootstrap admin (RIPCORD_ADMIN_TOKEN)', role: 'admin' };

/** Tokens are stored as SHA-256 digests: high-entropy secrets need no slow hash, and lookups stay O(1). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The principal a live stored token acts as: its user for admin tokens, its environment otherwise. */
export function principalOf(token: TokenIdentity): Principal {
  return token.kind === 'admin'
    ? { kind: 'user', actor: { id: token.user!.id, name: token.user!.name, role: token.user!.role }, tokenId: token.id, grants: token.user!.grants }
    : { kind: token.kind, tokenId: token.id, environment: token.environment! };
}

/** Resolves a bearer token to its principal (null when unknown or revoked). */
export interface Authenticator {
  authenticate(token: string): Promise<Principal | null>;
  /**
   * The principal of a token resolved recently and not invalidated since, without any I/O or
   * hashing (the evaluation hot path); undefined when a lookup is needed.
   */
  cached?(token: string): Principal | undefined;
  /**
   * Whether this process has seen the token valid (and not revoked since): such a token is not
   * refused with its address when other tokens from that address failed too often.
   */
  vouchesFor?(token: string): boolean;
}

/** What changed about credentials: the tokens revoked and the users changed (role, grants, deactivation). None: anything may have. */
export interface CredentialChange {
  tokenIds?: readonly string[];
  userIds?: readonly string[];
}

/** Whether a principal is touched by a change (an unscoped change touches everyone). */
export function touchedBy(principal: Principal, change: CredentialChange | undefined): boolean {
  if (!change || (!change.tokenIds?.length && !change.userIds?.length)) return true;
  if (principal.tokenId && change.tokenIds?.includes(principal.tokenId)) return true;
  return principal.kind === 'user' && (change.userIds?.includes(principal.actor.id) ?? false);
}

/** Longer bearer values are refused before any hashing, lookup or caching: real secrets are ~45 characters. */
export const MAX_TOKEN_LENGTH = 256;
/** How many tokens an API process keeps resolved in memory (least recently used go first). */
export const MAX_CACHED_TOKENS = 10_000;

/** The stored-token authenticator: cached lookups, invalidation on change, batched `last_used_at`. */
export interface TokenAuthenticator extends Authenticator {
  /** Forgets cached tokens (after a revocation, a role or grant change, a deactivation). */
  invalidate(change?: CredentialChange): void;
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
export function createAuthenticator(tokens: TokenLookup, bootstrapToken: string | undefined, options: AuthenticatorOptions = {}): TokenAuthenticator {
  const ttl = options.cacheTtlMs ?? 10_000;
  const bootstrapDigest = bootstrapToken ? Buffer.from(hashToken(bootstrapToken), 'hex') : null;
  // Evaluation must not cost a Postgres round trip, nor a SHA-256, per request: resolved tokens are
  // kept by the token itself (in memory only; storage keeps digests), bounded, and only successes:
  // a flood of bogus tokens must neither grow memory nor push real tokens out.
  const cache = new LRUCache<string, Principal>({ max: MAX_CACHED_TOKENS, ttl, ttlAutopurge: false });
  // A lookup that started before an invalidation must not re-fill the cache with what it read.
  let generation = 0;
  const usage = new Map<string, number>();

  async function flushUsage(): Promise<void> {
    if (usage.size === 0) return;
    const entries = [...usage];
    usage.clear();
    try {
      await tokens.recordUsage(entries);
    } catch (error) {
      // Keep the newest time of each token for the next attempt.
      for (const [id, at] of entries) if ((usage.get(id) ?? 0) < at) usage.set(id, at);
      options.onFlushError?.(error);
    }
  }
  const timer = setInterval(() => void flushUsage(), options.usageFlushMs ?? 5_000);
  timer.unref();

  function cached(token: string): Principal | undefined {
    const principal = cache.get(token);
    if (principal?.tokenId) usage.set(principal.tokenId, Date.now());
    return principal;
  }

  return {
    cached,
    vouchesFor: (token) => cache.has(token),
    async authenticate(token) {
      if (token.length > MAX_TOKEN_LENGTH) return null;
      const known = cached(token);
      if (known) return known;
      const digest = hashToken(token);
      if (bootstrapDigest && timingSafeEqual(Buffer.from(digest, 'hex'), bootstrapDigest)) {
        const bootstrap: Principal = { kind: 'user', actor: BOOTSTRAP_ACTOR, tokenId: null, grants: [] };
        cache.set(token, bootstrap);
        return bootstrap;
      }
      const started = generation;
      const stored = await tokens.findLiveByHash(digest);
      const principal = stored ? principalOf(stored) : null;
      if (principal && started === generation) cache.set(token, principal);
      if (principal?.tokenId) usage.set(principal.tokenId, Date.now());
      return principal;
    },
    invalidate(change) {
      generation += 1;
      if (!change || (!change.tokenIds?.length && !change.userIds?.length)) {
        cache.clear();
        return;
      }
      for (const [token, principal] of cache.entries()) if (touchedBy(principal, change)) cache.delete(token);
    },
    flushUsage,
    async close() {
      clearInterval(timer);
      await flushUsage();
    },
  };
}
