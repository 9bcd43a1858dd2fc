import type { Actor } from '../auth/principal.js';
import type { Caller } from '../auth/caller.js';
import { decide, type AccessRequest } from '../auth/rbac.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import type { Database } from '../connections/database.js';
import { findFlag, listEnvironments, listFlags, type FlagRecord } from '../flags/flag-store.js';
import { listUsers, type UserRecord } from './user-store.js';
import { closeMatches } from '../flags/close-matches.js';

/** Who sent a Slack request, as far as Slack says. */
export interface SlackCaller {
  slackUserId: string;
  slackUserName: string;
  teamId: string;
}

/** A Slack user linked to a live Ripcord user: the only kind of caller a command reads anything for. */
export interface LinkedSlackUser {
  caller: SlackCaller;
  user: UserRecord;
  actor: Actor;
}

export type SlackRefusal = { ok: false; message: string };
export type Linked = { ok: true; linked: LinkedSlackUser } | SlackRefusal;
export type Authorized = { ok: true; actor: Actor } | SlackRefusal;
/** A command's flag and environment, or what to answer instead (close matches among what the user may read). */
export type SlackTarget = { ok: true; flag: FlagRecord; environment: string } | { ok: false; message: string };

/** What a refusal names in the audit log: the command and the flag it named, if any. */
export interface SlackAttempt {
  command: string;
  flagKey?: string;
  environment?: string | null;
}

const NOT_LINKED = ':no_entry: Your Slack account is not linked to a Ripcord user. Ask an admin to set your Slack user id on your Ripcord user.';
/** Flags considered for "did you mean" (the API's 404 looks at the same live keys). */
const SUGGESTION_POOL = 1000;
const quoted = (keys: string[]) => keys.map((k) => `\`${k}\``).join(', ');

/**
 * The Slack bot's access to Ripcord: maps a Slack user to their Ripcord user (the linked-user rule,
 * checked before a command reads anything), applies the API's RBAC, audits every refusal, and
 * resolves the flag and environment a command names, suggesting only flags the user may read.
 */
export function createSlackAccessService(deps: {
  db: Database;
  /** Links an unlinked caller by an email both Slack and the identity provider verified (SLACK_LINK_BY_VERIFIED_EMAIL). */
  linkByEmail?: (caller: SlackCaller) => Promise<UserRecord | null>;
}) {
  const { db } = deps;

  async function refuse(caller: SlackCaller, userId: string | undefined, attempt: SlackAttempt, reason: string): Promise<void> {
    await appendAuditEvent(db, {
      userId: userId ?? `slack:${caller.slackUserId}`,
      action: 'slack.command_refused',
      resourceType: 'flag',
      resourceId: attempt.flagKey ?? '',
      environment: attempt.environment ?? null,
      reason,
      userAgent: 'Slack',
      metadata: { command: attempt.command, slackUserId: caller.slackUserId, slackUserName: caller.slackUserName, teamId: caller.teamId },
    });
  }

  return {
    /** The caller's live Ripcord user; an unlinked caller is refused (and audited) before anything is read for them. */
    async link(caller: SlackCaller, attempt: SlackAttempt): Promise<Linked> {
      const [found] = await listUsers(db, { slackUserId: caller.slackUserId, limit: 1 });
      const user = found ?? (await deps.linkByEmail?.(caller)) ?? undefined;
      if (!user) {
        await refuse(caller, undefined, attempt, 'your Slack account is not linked to a Ripcord user');
        return { ok: false, message: NOT_LINKED };
      }
      return { ok: true, linked: { caller, user, actor: { id: user.id, name: `${user.name} (Slack @${caller.slackUserName})`, role: user.role } } };
    },

    /** The API's RBAC for a linked user; a refusal is audited and changes nothing. */
    async authorize(linked: LinkedSlackUser, request: AccessRequest, attempt: SlackAttempt): Promise<Authorized> {
      const decision = decide({ kind: 'user', role: linked.user.role, grants: linked.user.grants }, request);
      if (decision.allowed) return { ok: true, actor: linked.actor };
      await refuse(linked.caller, linked.user.id, attempt, decision.reason);
      return { ok: false, message: `:no_entry: You may not do that: ${decision.reason}.` };
    },

    /**
     * A write command refused the linked user (ForbiddenError): audit the refusal as any Slack refusal
     * and say why. The command decided; this only records and presents it.
     */
    async refused(linked: LinkedSlackUser, attempt: SlackAttempt, reason: string): Promise<SlackRefusal> {
      await refuse(linked.caller, linked.user.id, attempt, reason);
      return { ok: false, message: `:no_entry: You may not do that: ${reason}.` };
    },

    /** The linked user as the caller of a write command (RBAC from their role and grants). */
    callerOf(linked: LinkedSlackUser): Caller {
      return { actor: linked.actor, subject: { kind: 'user', role: linked.user.role, grants: linked.user.grants }, userAgent: 'Slack' };
    },

    /** The same decision as a boolean, for what a user may see rather than do (nothing is audited). */
    allows(linked: LinkedSlackUser, request: AccessRequest): boolean {
      return decide({ kind: 'user', role: linked.user.role, grants: linked.user.grants }, request).allowed;
    },

    /**
     * The live flag and environment a linked user's command names. Unknown names get close matches:
     * environments, and only the flags this user may read there.
     */
    async resolve(linked: LinkedSlackUser, flagKey: string, environment: string): Promise<SlackTarget> {
      const environments = (await listEnvironments(db)).map((e) => e.key);
      if (!environments.includes(environment)) {
        const near = closeMatches(environment, environments);
        return { ok: false, message: `Unknown environment \`${environment}\`.${near.length ? ` Did you mean ${quoted(near)}?` : ''} Environments: ${environments.join(', ')}` };
      }
      const flag = await findFlag(db, flagKey);
      if (flag && !flag.archivedAt) return { ok: true, flag, environment };
      const subject = { kind: 'user' as const, role: linked.user.role, grants: linked.user.grants };
      const readable = (await listFlags(db, { limit: SUGGESTION_POOL }))
        .filter((f) => decide(subject, { resource: 'flag', action: 'read', environment, tags: f.tags }).allowed)
        .map((f) => f.key);
      const near = closeMatches(flagKey, readable);
      return { ok: false, message: `No flag \`${flagKey}\`.${near.length ? ` Did you mean ${quoted(near)}?` : ''}` };
    },
  };
}

export type SlackAccessService = ReturnType<typeof createSlackAccessService>;
