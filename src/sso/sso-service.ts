import * as oidc from 'openid-client';
import type { AuthEvents } from '../auth/auth-events.js';
import type { Principal } from '../auth/principal.js';
import type { Role } from '../auth/rbac.js';
import { AppError, ConflictError, ForbiddenError, ServiceUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { presentUser } from '../users/user-service.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { withTransaction, type Database, type Queryable } from '../connections/database.js';
import { findUser, replaceGrants, type UserRecord } from '../users/user-store.js';
import { decodeLoginState, encodeLoginState, safeReturnPath } from './login-state.js';
import type { OidcClient } from './oidc-client.js';
import { emailDomainAllowed, emailVerified, mapGroups, type MappedAccess } from './role-mapping.js';
import { groupsClaimSchema, identityClaimsSchema } from './schemas.js';
import { csrfTokenFor, newSessionSecret, openWithSession, sealWithSession, SESSION_SECRET_PATTERN, sessionDigest } from './session-secret.js';
import type { SessionSettings, SsoSettings } from './settings.js';
import {
  deleteOldSessions, endSession, findLiveSession, findUserBySubject, findUsersByEmail, insertSession, insertUserFromIdentity,
  touchSession, updateUserFromIdentity,
} from './sso-store.js';

/** Where a browser request came from, for the audit log. */
export interface BrowserOrigin {
  ipAddress: string | null;
  userAgent: string | null;
}

/** A session the sign-in made: the secret goes into the cookie and nowhere else. */
export interface NewSession {
  secret: string;
  expiresAt: Date;
  returnTo: string;
}

/** A sign-in the identity provider or Ripcord's rules refused: 403 with a message fit for the person. */
export class SignInRefused extends AppError {
  constructor(message: string) {
    super(403, 'SIGN_IN_REFUSED', message);
  }
}

/** A callback that does not belong to a sign-in this browser started (or came too late): 400. */
export class SignInExpired extends AppError {
  constructor() {
    super(400, 'SIGN_IN_EXPIRED', 'This sign-in was not started in this browser, or took longer than 10 minutes: start again from Ripcord');
  }
}

const uniqueViolation = (error: unknown) => (error as { code?: string } | null)?.code === '23505';

/**
 * Single sign-on: sign-in with the identity provider (users made or updated with the role their
 * groups map to, at every sign-in), the sessions it opens, and sign-out. Sessions authenticate as the
 * same principal an admin token of that user does; every sign-in, refusal and sign-out is audited.
 */
export function createSsoService(deps: {
  db: Database;
  sessions: SessionSettings;
  /** Absent when OIDC_ISSUER is unset: existing sessions still work, new sign-ins answer 404. */
  sso?: { settings: SsoSettings; client: OidcClient };
  authEvents?: AuthEvents;
  logger: Logger;
}) {
  const { db, sessions } = deps;
  // Within the idle timeout a session's last_seen_at is written at most this often (not on every request).
  const touchEveryMs = Math.min(60_000, (sessions.idleSeconds * 1000) / 4);

  function requireSso() {
    if (!deps.sso) throw new AppError(404, 'NOT_FOUND', 'Single sign-on is not configured (OIDC_ISSUER); sign in with an admin token');
    return deps.sso;
  }

  async function refuse(who: string, email: string | undefined, origin: BrowserOrigin, reason: string, metadata: Record<string, unknown> = {}): Promise<never> {
    await appendAuditEvent(db, {
      userId: who, action: 'user.sign_in_refused', resourceType: 'user', resourceId: who, reason, ...origin,
      metadata: { method: 'oidc', email: email ?? null, ...metadata },
    });
    throw new SignInRefused(reason);
  }

  /** Finds (or makes) the user of an identity, applies what their groups map to, opens the session; one transaction, one audit event. */
  async function signIn(tx: Queryable, input: {
    issuer: string; subject: string; email: string; name: string; verified: boolean | undefined;
    /** What the groups map to; null when roles are managed in Ripcord (OIDC_GROUPS_CLAIM=none). */
    access: MappedAccess | null; defaultRole: Role | 'none'; idToken: string | undefined; origin: BrowserOrigin;
  }): Promise<{ user: UserRecord; before: UserRecord | null; secret: string; sessionId: string; expiresAt: Date } | { refused: string; userId?: string }> {
    let existing = await findUserBySubject(tx, input.issuer, input.subject);
    if (!existing) {
      const byEmail = await findUsersByEmail(tx, input.email);
      if (byEmail.length > 1) return { refused: `More than one Ripcord user has the email ${input.email}; ask an admin to remove the duplicate` };
      const candidate = byEmail[0];
      if (candidate && candidate.oidcSubject !== null) {
        return { refused: `The Ripcord user with the email ${input.email} signs in with another identity`, userId: candidate.id };
      }
      // An account an admin made is linked only to an identity whose email the provider vouches for.
      if (candidate && input.verified !== true) {
        return { refused: `The identity provider does not say ${input.email} is verified, so it is not linked to the existing Ripcord user`, userId: candidate.id };
      }
      existing = candidate ?? null;
    }
    if (existing?.deactivatedAt) return { refused: 'Your Ripcord user is deactivated; ask an admin', userId: existing.id };

    const before = existing ? await findUser(tx, existing.id) : null;
    // Roles managed in Ripcord: a known user keeps role and grants; a new one gets the default role.
    const role = input.access?.role ?? before?.role ?? (input.defaultRole === 'none' ? undefined : input.defaultRole);
    if (!role) return { refused: 'Ripcord has no user for you yet; ask an admin to create one with your email' };
    const identity = {
      issuer: input.issuer, subject: input.subject, email: input.email, name: input.name, role, emailVerified: input.verified === true,
    };
    let userId: string;
    try {
      if (existing) {
        userId = existing.id;
        await updateUserFromIdentity(tx, userId, identity);
      } else {
        userId = await insertUserFromIdentity(tx, identity);
      }
    } catch (error) {
      if (uniqueViolation(error)) throw new ConflictError(`Another Ripcord user already has the email ${input.email}`);
      throw error;
    }
    if (input.access) await replaceGrants(tx, userId, input.access.grants);
    const user = (await findUser(tx, userId))!;

    const secret = newSessionSecret();
    const expiresAt = new Date(Date.now() + sessions.absoluteSeconds * 1000);
    const session = await insertSession(tx, {
      secretHash: sessionDigest(secret), userId, expiresAt, idTokenSealed: input.idToken ? sealWithSession(secret, input.idToken) : null,
      ipAddress: input.origin.ipAddress, userAgent: input.origin.userAgent,
    });
    await appendAuditEvent(tx, {
      userId, action: 'user.signed_in', resourceType: 'user', resourceId: userId, ...input.origin,
      oldValue: before ? presentUser(before) : null, newValue: presentUser(user),
      metadata: { actorName: user.name, method: 'oidc', sessionId: session.id, created: before === null, groups: input.access?.matched ?? null },
    });
    return { user, before, secret, sessionId: session.id, expiresAt };
  }

  return {
    /** What the sign-in screen needs to know. */
    info() {
      return { enabled: Boolean(deps.sso), provider_name: deps.sso?.settings.providerName ?? null };
    },

    /** Starts a sign-in: the identity provider's URL to send the browser to, and the login-state cookie's value. */
    async beginLogin(returnTo: unknown): Promise<{ url: string; loginState: string }> {
      const { client } = requireSso();
      const { url, checks } = await client.begin();
      return { url: url.href, loginState: encodeLoginState({ ...checks, returnTo: safeReturnPath(returnTo), startedAt: Date.now() }) };
    },

    /**
     * Completes a sign-in from the identity provider's callback (its query string, read against the
     * configured redirect URI: behind a proxy the request's own host and scheme may differ).
     */
    async completeLogin(search: string, loginState: string | undefined, origin: BrowserOrigin): Promise<NewSession> {
      const { client, settings } = requireSso();
      const checks = decodeLoginState(loginState);
      if (!checks) throw new SignInExpired();
      const callbackUrl = new URL(settings.client.redirectUri);
      callbackUrl.search = search;
      let completed: Awaited<ReturnType<OidcClient['complete']>>;
      try {
        completed = await client.complete(callbackUrl, checks);
      } catch (error) {
        throw providerError(error);
      }
      const parsed = identityClaimsSchema.safeParse(completed.claims);
      if (!parsed.success) throw new SignInRefused(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'claims'}: ${issue.message}`).join('; '));
      const claims = parsed.data;
      const email = claims.email;
      const who = `oidc:${claims.sub}`;
      const verified = emailVerified(claims.email_verified);
      if (verified === false) await refuse(who, email, origin, `The identity provider says ${email} is not verified`);
      if (!emailDomainAllowed(email, settings.allowedEmailDomains)) {
        await refuse(who, email, origin, `Sign-in is limited to ${settings.allowedEmailDomains.map((d) => `@${d}`).join(', ')} addresses`);
      }
      let access: MappedAccess | null = null;
      if (settings.groupsClaim !== null) {
        const groups = groupsClaimSchema.parse(completed.claims[settings.groupsClaim]);
        access = mapGroups(groups, settings.rules, settings.defaultRole);
        if (!access) await refuse(who, email, origin, 'None of your groups gives access to Ripcord; ask an admin', { groups: groups.slice(0, 50) });
      }

      const issuer = typeof completed.claims.iss === 'string' ? completed.claims.iss : settings.client.issuer;
      const name = claims.name?.trim() || claims.preferred_username?.trim() || email;
      const outcome = await withTransaction(db, (tx) => signIn(tx, {
        issuer, subject: claims.sub, email, name, verified, access, defaultRole: settings.defaultRole, idToken: completed.idToken, origin,
      }));
      if ('refused' in outcome) return refuse(outcome.userId ?? who, email, origin, outcome.refused);

      const { user, before } = outcome;
      const changed = before && (before.role !== user.role || JSON.stringify(before.grants) !== JSON.stringify(user.grants));
      // Admin tokens of this user (cached in every API process) and their open streams follow the new role.
      if (changed) await deps.authEvents?.changed({ what: `user:${user.id}`, userIds: [user.id] });
      void deleteOldSessions(db).catch((err: unknown) => deps.logger.warn({ err }, 'could not delete old sign-in sessions'));
      return { secret: outcome.secret, expiresAt: outcome.expiresAt, returnTo: checks.returnTo };
    },

    /** The principal of a session cookie's secret while the session lives; it is the same principal an admin token of the user resolves to. */
    async authenticate(secret: string): Promise<Principal | null> {
      if (!SESSION_SECRET_PATTERN.test(secret)) return null;
      const session = await findLiveSession(db, sessionDigest(secret), sessions.idleSeconds);
      if (!session) return null;
      if (Date.now() - session.lastSeenAt.getTime() >= touchEveryMs) await touchSession(db, session.id);
      return {
        kind: 'user', actor: { id: session.userId, name: session.userName, role: session.role }, tokenId: null, grants: session.grants, sessionId: session.id,
      };
    },

    /** The signed-in user of a session, its CSRF token (for X-CSRF-Token on writes) and its timeouts. */
    async session(principal: Principal, secret: string | undefined) {
      if (principal.kind !== 'user' || !principal.sessionId || !secret) {
        throw new ForbiddenError('Only a sign-in session has one; GET /api/v1/users/me says who a token acts as');
      }
      const user = await findUser(db, principal.actor.id);
      if (!user) throw new ForbiddenError('The user of this session no longer exists');
      return {
        user: presentUser(user), csrf_token: csrfTokenFor(secret),
        idle_timeout_seconds: sessions.idleSeconds, absolute_timeout_seconds: sessions.absoluteSeconds,
      };
    },

    /** Signs a session out (audited); returns the identity provider's logout URL when it offers RP-initiated logout. */
    async logout(principal: Principal, secret: string | undefined, origin: BrowserOrigin): Promise<{ logoutUrl: string | null }> {
      if (principal.kind !== 'user' || !principal.sessionId || !secret) throw new ForbiddenError('Only a sign-in session signs out; revoke a token instead');
      const sessionId = principal.sessionId;
      const ended = await withTransaction(db, async (tx) => {
        const row = await endSession(tx, sessionId);
        if (!row) return undefined;
        await appendAuditEvent(tx, {
          userId: principal.actor.id, action: 'user.signed_out', resourceType: 'user', resourceId: principal.actor.id, ...origin,
          metadata: { actorName: principal.actor.name, method: 'oidc', sessionId },
        });
        return row;
      });
      if (!ended || !deps.sso) return { logoutUrl: null };
      const idToken = ended.idTokenSealed ? openWithSession(secret, ended.idTokenSealed) : null;
      try {
        return { logoutUrl: (await deps.sso.client.logoutUrl(idToken))?.href ?? null };
      } catch (err) {
        // Signed out of Ripcord all the same; only the provider's own session stays.
        deps.logger.warn({ err }, 'could not build the identity provider logout URL');
        return { logoutUrl: null };
      }
    },
  };
}

/** The identity provider's refusals and answers that do not check out, as errors fit to show. */
function providerError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof oidc.AuthorizationResponseError) {
    return new SignInRefused(`The identity provider refused the sign-in: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`);
  }
  if (error instanceof oidc.ResponseBodyError) {
    return new AppError(400, 'SIGN_IN_FAILED', `The identity provider refused the code exchange: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`);
  }
  if (error instanceof oidc.ClientError) {
    return new AppError(400, 'SIGN_IN_FAILED', `The identity provider's answer did not check out: ${error.message}`);
  }
  return new ServiceUnavailableError(`The identity provider could not be reached: ${(error as Error).message}`);
}

export type SsoService = ReturnType<typeof createSsoService>;
