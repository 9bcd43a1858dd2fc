import type { Actor } from '../src/auth/principal.js';
import { decide, type AccessRequest } from '../src/auth/rbac.js';
import { appendAuditEvent } from '../src/stores/audit-store.js';
import type { Database } from '../src/stores/database.js';
import { listUsers, type UserRecord } from '../src/stores/user-store.js';

/** Who sent a Slack request, as far as Slack says. */
export interface SlackCaller {
  slackUserId: string;
  slackUserName: string;
  teamId: string;
}

export type SlackAuthorization = { ok: true; actor: Actor; user: UserRecord } | { ok: false; message: string };

/**
 * Maps a Slack user to their Ripcord user and checks the same RBAC as the API. A refusal is audited
 * (who tried what) and changes nothing.
 */
export async function authorizeSlackUser(
  db: Database,
  caller: SlackCaller,
  request: AccessRequest & { flagKey: string; command: string },
): Promise<SlackAuthorization> {
  const [user] = await listUsers(db, { slackUserId: caller.slackUserId, limit: 1 });
  const decision = user
    ? decide({ kind: 'user', role: user.role, grants: user.grants }, request)
    : { allowed: false as const, reason: 'your Slack account is not linked to a Ripcord user' };
  if (user && decision.allowed) {
    return { ok: true, user, actor: { id: user.id, name: `${user.name} (Slack @${caller.slackUserName})`, role: user.role } };
  }
  const reason = decision.allowed ? 'refused' : decision.reason;
  await appendAuditEvent(db, {
    userId: user?.id ?? `slack:${caller.slackUserId}`,
    action: 'slack.command_refused',
    resourceType: 'flag',
    resourceId: request.flagKey,
    environment: request.environment ?? null,
    reason,
    userAgent: 'Slack',
    metadata: { command: request.command, slackUserId: caller.slackUserId, slackUserName: caller.slackUserName, teamId: caller.teamId },
  });
  return {
    ok: false,
    message: user
      ? `:no_entry: You may not do that: ${reason}.`
      : ':no_entry: Your Slack account is not linked to a Ripcord user. Ask an admin to set your Slack user id on your Ripcord user.',
  };
}
