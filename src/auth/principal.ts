import { createHash, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../stores/database.js';

export type Role = 'viewer' | 'editor' | 'admin' | 'emergency_responder';

/** Who did something, as written into the audit log. */
export interface Actor {
  id: string;
  name: string;
  role: Role;
}

/** The authenticated caller of a request. */
export type Principal =
  | { kind: 'user'; actor: Actor; tokenId: string | null }
  | { kind: 'client' | 'server'; tokenId: string; environment: string };

export const BOOTSTRAP_ACTOR: Actor = { id: 'bootstrap-admin', name: 'bootstrap admin (RIPCORD_ADMIN_TOKEN)', role: 'admin' };

/** Tokens are stored as SHA-256 digests: high-entropy secrets need no slow hash, and lookups stay O(1). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface Authenticator {
  authenticate(token: string): Promise<Principal | null>;
}

const CACHE_TTL_MS = 10_000;

/** Resolves bearer tokens: the bootstrap admin token from the environment, else a stored API token. */
export function createAuthenticator(db: Queryable, bootstrapToken: string | undefined): Authenticator {
  const bootstrapDigest = bootstrapToken ? Buffer.from(hashToken(bootstrapToken), 'hex') : null;
  // Evaluation must not cost a Postgres round trip per request, nor fail while Postgres is down.
  const cache = new Map<string, { principal: Principal | null; expires: number }>();

  return {
    async authenticate(token) {
      const digest = hashToken(token);
      if (bootstrapDigest && timingSafeEqual(Buffer.from(digest, 'hex'), bootstrapDigest)) {
        return { kind: 'user', actor: BOOTSTRAP_ACTOR, tokenId: null };
      }
      const cached = cache.get(digest);
      if (cached && cached.expires > Date.now()) return cached.principal;
      const result = await db.query(
        `SELECT t.id, t.kind, t.environment, u.id AS user_id, u.name, u.role
           FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
          WHERE t.token_hash = $1 AND t.revoked_at IS NULL`,
        [digest],
      );
      const row = result.rows[0];
      const principal: Principal | null = !row
        ? null
        : row.kind === 'admin'
          ? { kind: 'user', actor: { id: row.user_id, name: row.name, role: row.role }, tokenId: row.id }
          : { kind: row.kind, tokenId: row.id, environment: row.environment };
      cache.set(digest, { principal, expires: Date.now() + CACHE_TTL_MS });
      return principal;
    },
  };
}
