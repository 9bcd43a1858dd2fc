import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** How long a ticket may wait to be used: long enough to open an EventSource, too short to be worth stealing. */
export const STREAM_TICKET_TTL_SECONDS = 30;

export interface StreamTicketGrant {
  userId: string;
  environments: string[];
}

/**
 * Single-use tickets for the event stream. A browser's EventSource can't send an Authorization
 * header, and an admin token must never sit in a URL (proxy and access logs), so a signed-in page
 * mints a ticket with an authenticated POST and opens `/api/v1/stream?ticket=`. Tickets live in
 * Redis (any replica may redeem them) and are deleted by the redeem that reads them.
 */
export class StreamTickets {
  /**
   * `holderMayListen` answers, at redeem time, whether the ticket's user may still read every
   * environment it names (active, role and grants as of now): a ticket must not outlive its user.
   */
  constructor(
    private readonly redis: Redis,
    private readonly holderMayListen: (grant: StreamTicketGrant) => Promise<boolean>,
    private readonly prefix = 'ripcord:stream-ticket:',
  ) {}

  async mint(grant: StreamTicketGrant, now = Date.now()): Promise<{ ticket: string; expiresAt: string }> {
    const ticket = `st_${randomBytes(24).toString('base64url')}`;
    await this.redis.set(this.prefix + ticket, JSON.stringify(grant), 'EX', STREAM_TICKET_TTL_SECONDS);
    return { ticket, expiresAt: new Date(now + STREAM_TICKET_TTL_SECONDS * 1000).toISOString() };
  }

  /** The grant of a ticket, once; null when it is unknown, expired or already used. */
  async redeem(ticket: string): Promise<StreamTicketGrant | null> {
    if (!/^st_[A-Za-z0-9_-]{32}$/.test(ticket)) return null;
    const value = await this.redis.getdel(this.prefix + ticket);
    if (!value) return null;
    const grant = JSON.parse(value) as StreamTicketGrant;
    return (await this.holderMayListen(grant)) ? grant : null;
  }
}
