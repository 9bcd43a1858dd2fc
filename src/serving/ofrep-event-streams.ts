import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { principalOf, type Principal, type TokenLookup } from '../auth/principal.js';
import type { FlagSnapshot } from '../cache/flag-snapshot.js';
import type { ChangeEvent } from '../cache/projection.js';
import type { StreamFormat } from './stream-hub.js';

/**
 * OFREP 0.3 change streams (the protocol's ADR-0008): a bulk evaluation advertises an SSE endpoint
 * in `eventStreams`; it sends `refetchEvaluation` notifications (never flag data) whenever the
 * token's environment changes, and the provider re-fetches the bulk evaluation with the
 * notification's `etag` / `lastModified` as `flagConfigEtag` / `flagConfigLastModified`.
 */
export const OFREP_EVENT_STREAM_PATH = '/ofrep/v1/event-stream';

/** The configuration ETag of an environment at a version: what `refetchEvaluation` carries. */
export const configEtag = (version: number) => `"v${version}"`;

/** One `refetchEvaluation` notification: the envelope event is always `message`, the id the version. */
function refetchEvent(version: number, lastModifiedSeconds: number): string {
  const data = { type: 'refetchEvaluation', etag: configEtag(version), lastModified: lastModifiedSeconds };
  return `id: ${version}\nevent: message\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Which configuration each environment of this process is at, in time: the moment a change reached
 * it (its announcement time), or the process start for what it loaded then. Re-fetches triggered by
 * a notification name the version (and time) they expect; a replica that trails waits, within a
 * bound, for it.
 */
export class OfrepFreshness {
  private readonly changedAt = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private readonly listener = (change: ChangeEvent) => {
    const at = Math.floor((change.at ?? Date.now()) / 1000);
    const environment = change.definition.environment;
    if (at > (this.changedAt.get(environment) ?? 0)) this.changedAt.set(environment, at);
    for (const wake of [...this.waiters]) wake();
  };

  constructor(
    private readonly snapshot: FlagSnapshot,
    private readonly onChange: Set<(change: ChangeEvent) => void>,
    private readonly startedAtSeconds = Math.floor(Date.now() / 1000),
  ) {}

  start(): void {
    this.onChange.add(this.listener);
  }

  stop(): void {
    this.onChange.delete(this.listener);
    for (const wake of [...this.waiters]) wake();
  }

  /** Seconds since the epoch of the newest change this process holds for the environment. */
  lastModified(environment: string): number {
    return Math.max(this.startedAtSeconds, this.changedAt.get(environment) ?? 0);
  }

  holds(environment: string, want: { version?: number; lastModified?: number }): boolean {
    return (want.version === undefined || this.snapshot.version(environment) >= want.version)
      && (want.lastModified === undefined || this.lastModified(environment) >= want.lastModified);
  }

  /** True once this process holds what was asked for; false when `timeoutMs` passed first. */
  async waitFor(environment: string, want: { version?: number; lastModified?: number }, timeoutMs: number): Promise<boolean> {
    if (this.holds(environment, want)) return true;
    return new Promise<boolean>((resolve) => {
      const done = (held: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(held);
      };
      const check = () => {
        if (this.holds(environment, want)) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(check);
    });
  }

  /** The OFREP stream's wire format: notifications only, ids are environment versions. */
  format(): StreamFormat {
    return {
      opening: (snapshot, environment, lastEventId) => {
        const version = snapshot.version(environment);
        // A client that missed changes (Last-Event-ID behind) is told to re-fetch at once; otherwise
        // an id-only block sets its Last-Event-ID without dispatching anything.
        if (lastEventId !== undefined && Number.isFinite(lastEventId) && lastEventId < version) {
          return `retry: 1000\n\n${refetchEvent(version, this.lastModified(environment))}`;
        }
        return `retry: 1000\nid: ${Math.max(version, lastEventId ?? 0)}\n\n`;
      },
      change: (change) => refetchEvent(change.definition.version, Math.max(this.lastModified(change.definition.environment), Math.floor((change.at ?? Date.now()) / 1000))),
      heartbeat: () => ': heartbeat\n\n',
    };
  }
}

/** Parses `flagConfigEtag` (as sent in `refetchEvaluation`): the version, or an error naming the parameter. */
export function parseConfigEtag(value: string): number | { error: string } {
  const match = /^(?:W\/)?"?v(\d{1,15})"?$/.exec(value);
  return match ? Number(match[1]) : { error: 'flagConfigEtag must be an ETag this server sent in a refetchEvaluation event, like "v42"' };
}

/** Parses `flagConfigLastModified`: Unix seconds or an ISO 8601 date-time, to Unix seconds. */
export function parseConfigLastModified(value: string): number | { error: string } {
  if (/^\d{1,12}$/.test(value)) return Number(value);
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return Math.floor(ms / 1000);
  }
  return { error: 'flagConfigLastModified must be Unix seconds or an ISO 8601 date-time' };
}

export interface ChannelGrant {
  principal: Principal;
  environment: string;
}

const CHANNEL = /^([0-9a-f-]{36})\.([a-z0-9][a-z0-9_-]{0,62})\.([A-Za-z0-9_-]{43})$/;

/**
 * The credential in an OFREP stream URL. A browser's EventSource sends no headers, so the URL itself
 * must authorise: `<token id>.<environment>.<HMAC>`, signed with a key all API processes share
 * (created once in Redis), so any replica accepts what another advertised. It names a token, never
 * contains it, and stops working when the token is revoked. The URL is still a secret (anyone holding
 * it may listen): it goes in the query string, which nothing here logs.
 */
export class OfrepStreamChannels {
  private key: Buffer | undefined;
  private loading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Channels already signed, so a bulk answer costs no HMAC (bounded like the token cache). */
  private readonly signed = new LRUCache<string, string>({ max: 10_000 });

  constructor(private readonly deps: { redis: Redis; tokens: TokenLookup; prefix?: string }) {}

  private get keyName(): string {
    return `${this.deps.prefix ?? 'ripcord'}:ofrep-stream-key`;
  }

  /**
   * Loads (or creates) the shared key; until it is loaded, bulk answers advertise no stream. Called
   * again every minute: after Redis restarted empty, the first process to look writes its key back
   * and the others adopt it (their URLs from before stop working; providers get new ones on their
   * next bulk evaluation).
   */
  load(): Promise<void> {
    this.loading ??= (async () => {
      try {
        await this.deps.redis.set(this.keyName, (this.key ?? randomBytes(32)).toString('base64'), 'NX');
        const value = await this.deps.redis.get(this.keyName);
        const key = value ? Buffer.from(value, 'base64') : undefined;
        if (key && !(this.key && key.equals(this.key))) {
          this.key = key;
          this.signed.clear();
        }
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  start(refreshMs = 60_000): void {
    this.timer = setInterval(() => this.load().catch(() => undefined), refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The channel for a principal in an environment; null for the bootstrap admin (no stored token to revoke) or before the key is loaded. */
  channelFor(principal: Principal, environment: string): string | null {
    if (!principal.tokenId) return null;
    if (!this.key) {
      this.load().catch(() => undefined);
      return null;
    }
    const id = `${principal.tokenId}.${environment}`;
    let channel = this.signed.get(id);
    if (channel === undefined) this.signed.set(id, (channel = `${id}.${this.sign(principal.tokenId, environment)}`));
    return channel;
  }

  /** Who may listen on a channel: null when it is malformed, forged, or its token is no longer live. */
  async resolve(channel: string): Promise<ChannelGrant | null> {
    const match = CHANNEL.exec(channel);
    if (!match) return null;
    if (!this.key) await this.load();
    if (!this.key) return null;
    const [, tokenId, environment, mac] = match as unknown as [string, string, string, string];
    const expected = Buffer.from(this.sign(tokenId, environment));
    if (!timingSafeEqual(expected, Buffer.from(mac))) return null;
    const token = await this.deps.tokens.findLiveById(tokenId);
    if (!token) return null;
    const principal = principalOf(token);
    if (principal.kind !== 'user' && principal.environment !== environment) return null;
    return { principal, environment };
  }

  private sign(tokenId: string, environment: string): string {
    return createHmac('sha256', this.key!).update(`ofrep-stream\n${tokenId}\n${environment}`).digest('base64url');
  }
}
