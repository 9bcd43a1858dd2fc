import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AuthEvents } from '../auth/auth-events.js';
import { hashToken } from '../auth/principal.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { withTransaction, type Database } from '../connections/database.js';
import { environmentExists, findToken, insertToken, listTokens, revokeTokenRow, tokenNames, type TokenKind, type TokenRecord } from './token-store.js';
import { findUser } from './user-store.js';
import { decodeCursor, encodeCursor } from '../protocol/cursor.js';
import { auditFrom, type AuditMeta } from '../auth/request-meta.js';

export interface NewTokenInput {
  name: string;
  kind: TokenKind;
  environment?: string;
  user_id?: string;
}

export interface TokenListQuery {
  kind?: TokenKind;
  environment?: string;
  user_id?: string;
  include_revoked?: boolean;
  cursor?: string;
  limit: number;
}

/** The API shape of a token: never the secret nor its hash. */
export function presentToken(token: TokenRecord) {
  return {
    id: token.id,
    name: token.name,
    kind: token.kind,
    environment: token.environment,
    user_id: token.userId,
    created_by: token.createdBy,
    prefix: token.prefix,
    created_at: token.createdAt,
    last_used_at: token.lastUsedAt,
    revoked_at: token.revokedAt,
  };
}

/** A new secret: the kind is visible in it (like `ghp_` or `xoxb-`), so a leaked one is easy to recognise and scan for. */
export function newSecret(kind: TokenKind): string {
  return `rc_${kind}_${randomBytes(24).toString('base64url')}`;
}

const cursorSchema = z.object({ t: z.number().int(), id: z.uuid() });
const isUuid = (value: string) => z.uuid().safeParse(value).success;
/** What the audit log and the UI call a token: its name and kind ("deploy bot (server token, revoked)"). */
export const tokenActorName = (t: { name: string; kind: TokenKind; revoked: boolean }) => `${t.name} (${t.kind} token${t.revoked ? ', revoked' : ''})`;
const fieldError = (path: string, message: string) => new ValidationError('Invalid request body', [{ path, message }]);

/**
 * API tokens: checks what is asked for, writes it and its audit event. Who may ask is the token
 * commands' rule (token-commands.ts), which pass it here as `mayManage` and `visibleTo`.
 */
export function createTokenService(deps: { db: Database; authEvents?: AuthEvents }) {
  const { db } = deps;

  return {
    /** Names for actor ids of the form `token:<id>` (a token as the resource or the actor of an audit event), revoked tokens too. */
    async names(actorIds: readonly string[]): Promise<Array<{ id: string; name: string }>> {
      const ids = actorIds.filter((id) => id.startsWith('token:')).map((id) => id.slice('token:'.length)).filter(isUuid);
      return (await tokenNames(db, ids)).map((t) => ({ id: `token:${t.id}`, name: tokenActorName(t) }));
    },

    /** Creates a token; the secret is in this answer only. */
    async create(input: NewTokenInput, meta: AuditMeta) {
      let environment: string | null = null;
      let userId: string | null = null;
      if (input.kind === 'admin') {
        if (input.environment !== undefined) throw fieldError('body.environment', 'admin tokens span environments (choose one per request with X-Environment)');
        userId = input.user_id ?? (isUuid(meta.actor.id) ? meta.actor.id : null);
        if (!userId) throw fieldError('body.user_id', 'the bootstrap token has no user of its own: name the user this admin token acts as');
        const user = await findUser(db, userId);
        if (!user) throw fieldError('body.user_id', 'no such user');
        if (user.deactivatedAt) throw fieldError('body.user_id', 'this user is deactivated');
      } else {
        if (input.user_id !== undefined) throw fieldError('body.user_id', `${input.kind} tokens belong to an environment, not a user`);
        if (input.environment === undefined) throw fieldError('body.environment', `a ${input.kind} token needs an environment`);
        environment = input.environment;
        if (!(await environmentExists(db, environment))) throw fieldError('body.environment', 'no such environment');
      }

      const secret = newSecret(input.kind);
      const token = await withTransaction(db, async (tx) => {
        const created = await insertToken(tx, {
          name: input.name, kind: input.kind, environment, userId, tokenHash: hashToken(secret),
          prefix: secret.slice(0, `rc_${input.kind}_`.length + 4), createdBy: meta.actor.id,
        });
        await appendAuditEvent(tx, {
          ...auditFrom(meta), action: 'token.created', resourceType: 'token', resourceId: created.id, environment,
          newValue: presentToken(created),
        });
        return created;
      });
      return { ...presentToken(token), token: secret };
    },

    /** One token, unless `mayManage` says the caller may not see it (404, as for an unknown one). */
    async get(id: string, mayManage: (token: TokenRecord) => boolean) {
      const token = await findToken(db, id);
      if (!token || !mayManage(token)) throw new NotFoundError(`Token '${id}' does not exist`);
      return presentToken(token);
    },

    /** A page of tokens, newest first: all of them, or those of `visibleTo` and those it made. */
    async list(query: TokenListQuery, visibleTo: string | undefined) {
      const before = decodeCursor(query.cursor, cursorSchema);
      const rows = await listTokens(db, {
        visibleTo,
        kind: query.kind, environment: query.environment, userId: query.user_id, includeRevoked: query.include_revoked,
        before: before && { createdMicros: before.t, id: before.id }, limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return { tokens: page.map(presentToken), next_cursor: rows.length > query.limit && last ? encodeCursor({ t: last.createdMicros, id: last.id }) : null };
    },

    /** Revokes a token; it fails at once in this process and, over pub/sub, in every other. */
    async revoke(id: string, mayManage: (token: TokenRecord) => boolean, meta: AuditMeta) {
      const token = await withTransaction(db, async (tx) => {
        const existing = await findToken(tx, id, true);
        if (!existing || !mayManage(existing)) throw new NotFoundError(`Token '${id}' does not exist`);
        if (existing.revokedAt) throw new ConflictError(`Token '${id}' was already revoked at ${existing.revokedAt}`);
        const revoked = await revokeTokenRow(tx, id);
        await appendAuditEvent(tx, {
          ...auditFrom(meta), action: 'token.revoked', resourceType: 'token', resourceId: id, environment: existing.environment,
          oldValue: presentToken(existing), newValue: presentToken(revoked),
        });
        return revoked;
      });
      await deps.authEvents?.changed({ what: `token:${id}`, tokenIds: [id] });
      return presentToken(token);
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
