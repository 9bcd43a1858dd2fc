import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { TokenAuthenticator } from './principal.js';

/** Announces credential changes (revocations, roles, grants, deactivations) to every API process. */
export interface AuthEvents {
  /** Drops this process's cache at once, then tells the others over Redis pub/sub. */
  changed(what: string): Promise<void>;
}

/**
 * Wires an authenticator to the `<prefix>:auth` channel. A lost message (Redis down) is covered by the
 * authenticator's short cache TTL, and every reconnect drops the cache in case a message was missed.
 */
export async function createAuthEvents(deps: {
  authenticator: Pick<TokenAuthenticator, 'invalidate'>;
  redis: Redis;
  subscriber: Redis;
  logger: Logger;
  prefix?: string;
}): Promise<AuthEvents> {
  const channel = `${deps.prefix ?? 'ripcord'}:auth`;
  deps.subscriber.on('message', (from: string) => {
    if (from === channel) deps.authenticator.invalidate();
  });
  deps.subscriber.on('ready', () => deps.authenticator.invalidate());
  await deps.subscriber.subscribe(channel);
  return {
    async changed(what) {
      deps.authenticator.invalidate();
      try {
        await deps.redis.publish(channel, what);
      } catch (error) {
        deps.logger.warn({ err: error, what }, 'could not announce a credential change; other processes drop it within their cache TTL');
      }
    },
  };
}
