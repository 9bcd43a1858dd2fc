import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { CredentialChange } from './principal.js';

/** Announces credential changes (revocations, roles, grants, deactivations) to every API process. */
export interface AuthEvents {
  /** Applies the change in this process at once, then tells the others over Redis pub/sub. */
  changed(change: CredentialChange & { what: string }): Promise<void>;
}

/** Whoever must act on a credential change: the token caches, the open streams. */
export type CredentialListener = (change: CredentialChange | undefined) => void;

function parseChange(message: string): CredentialChange | undefined {
  try {
    const parsed = JSON.parse(message) as CredentialChange;
    const ids = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined);
    return { tokenIds: ids(parsed.tokenIds), userIds: ids(parsed.userIds) };
  } catch {
    return undefined; // unreadable: treat as "anything may have changed"
  }
}

/**
 * Wires listeners to the `<prefix>:auth` channel. A lost message (Redis down) is covered by the
 * authenticator's short cache TTL, and every reconnect tells the listeners that anything may have
 * changed (an unscoped change), in case a message was missed.
 */
export async function createAuthEvents(deps: {
  listeners: CredentialListener[];
  redis: Redis;
  subscriber: Redis;
  logger: Logger;
  prefix?: string;
}): Promise<AuthEvents> {
  const channel = `${deps.prefix ?? 'ripcord'}:auth`;
  const notify = (change: CredentialChange | undefined) => {
    for (const listener of deps.listeners) listener(change);
  };
  deps.subscriber.on('message', (from: string, message: string) => {
    if (from === channel) notify(parseChange(message));
  });
  deps.subscriber.on('ready', () => notify(undefined));
  await deps.subscriber.subscribe(channel);
  return {
    async changed({ what, ...change }) {
      notify(change);
      try {
        await deps.redis.publish(channel, JSON.stringify({ what, ...change }));
      } catch (error) {
        deps.logger.warn({ err: error, what }, 'could not announce a credential change; other processes drop it within their cache TTL');
      }
    },
  };
}
