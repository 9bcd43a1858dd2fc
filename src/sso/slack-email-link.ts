import { WebClient } from '@slack/web-api';
import type { Logger } from '../logger.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { withTransaction, type Database } from '../connections/database.js';
import { findUser, type UserRecord } from '../users/user-store.js';
import { linkSlackUserByVerifiedEmail } from './sso-store.js';

/** A Slack caller not yet linked to a Ripcord user. */
export interface UnlinkedSlackCaller {
  slackUserId: string;
  slackUserName: string;
  teamId: string;
}

/** Finds a Slack member's email, when Slack says it is confirmed (null otherwise). */
export type SlackEmailLookup = (slackUserId: string) => Promise<string | null>;

/** Slack's users.info through the bot token (needs the users:read.email scope). */
export function slackEmailLookup(deps: { botToken: string; apiUrl: string }): SlackEmailLookup {
  const client = new WebClient(deps.botToken, { slackApiUrl: deps.apiUrl, retryConfig: { retries: 0 } });
  return async (slackUserId) => {
    const answer = await client.users.info({ user: slackUserId });
    const user = answer.user as { is_email_confirmed?: boolean; profile?: { email?: string } } | undefined;
    return user?.is_email_confirmed === true && user.profile?.email ? user.profile.email : null;
  };
}

/**
 * Links a Slack member to the Ripcord user with the same email (SLACK_LINK_BY_VERIFIED_EMAIL=on), when
 * both sides vouch for it: Slack says the email is confirmed, and the identity provider said it was
 * verified at that user's last sign-in. Only a single-sign-on user who has no Slack id yet is linked;
 * the link is audited as theirs. Returns the linked user, or null (the caller is then refused as unlinked).
 */
export function slackEmailLinker(deps: { db: Database; lookup: SlackEmailLookup; logger: Logger }) {
  return async (caller: UnlinkedSlackCaller): Promise<UserRecord | null> => {
    let email: string | null;
    try {
      email = await deps.lookup(caller.slackUserId);
    } catch (err) {
      deps.logger.warn({ err }, 'could not read a Slack member\'s email (does the bot have users:read.email?)');
      return null;
    }
    if (!email) return null;
    return withTransaction(deps.db, async (tx) => {
      const userId = await linkSlackUserByVerifiedEmail(tx, email, caller.slackUserId);
      if (!userId) return null;
      const user = (await findUser(tx, userId))!;
      await appendAuditEvent(tx, {
        userId, action: 'user.slack_linked', resourceType: 'user', resourceId: userId, userAgent: 'Slack',
        newValue: { slack_user_id: caller.slackUserId },
        metadata: { actorName: user.name, via: 'verified email', slackUserName: caller.slackUserName, teamId: caller.teamId },
      });
      return user;
    });
  };
}
