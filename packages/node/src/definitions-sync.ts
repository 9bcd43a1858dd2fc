import { changeEventSchema, definitionsPayloadSchema, type ChangeEventData, type DefinitionsPayload } from '../../../src/protocol/definitions.js';
import { SseParser, type SseMessage } from './sse-parser.js';
import { RipcordSdkError } from './types.js';
import { coalesced } from './coalesce.js';

export interface DefinitionsSyncOptions {
  url: string;
  token: string;
  fetch: typeof fetch;
  /** Listen to the change stream; false polls only. */
  stream: boolean;
  /** How often to poll (with ETag) while the stream is not connected or the last fetch failed. */
  pollIntervalMs: number;
  /** Reconnect delays: from `initialMs`, doubling, up to `maxMs`, with jitter. */
  backoff: { initialMs: number; maxMs: number };
  /** A stream silent for this long (no event, no heartbeat) is dropped and reopened. */
  heartbeatTimeoutMs: number;
  requestTimeoutMs: number;
  onPayload: (payload: DefinitionsPayload) => void;
  /** A change the stream announced; true when the client applied it whole (no re-fetch needed). */
  onChangeEvent: (change: ChangeEventData) => boolean;
  onError: (error: RipcordSdkError) => void;
}

/**
 * Keeps a local-mode client's definitions current: fetches them with `If-None-Match`, listens to
 * the SSE change stream (refetching on each change the client can't apply from the event alone,
 * resuming with `Last-Event-ID`, reconnecting with exponential backoff and jitter) and polls while
 * the stream is down or unavailable, or the last fetch failed.
 */
export class DefinitionsSync {
  private etag: string | undefined;
  private lastEventId: string | undefined;
  private closed = false;
  private streamConnected = false;
  private streamUnavailable = false;
  /** The last fetch failed: polled for even with the stream connected, which announces changes, not what a failed fetch missed. */
  private fetchFailed = false;
  private readonly coalescedRefresh = coalesced(() => this.fetchOnce(), () => !this.closed);
  private pollTimer: NodeJS.Timeout | undefined;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  /** Completed stream connections (a reconnect counts again). */
  connections = 0;

  constructor(private readonly options: DefinitionsSyncOptions) {}

  get connected(): boolean {
    return this.streamConnected;
  }

  start(): void {
    void this.refresh();
    this.pollTimer = setInterval(() => {
      if (!this.streamConnected || this.fetchFailed) void this.refresh();
    }, this.options.pollIntervalMs);
    this.pollTimer.unref();
    if (this.options.stream) void this.streamLoop();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.pollTimer);
    this.abort?.abort();
    this.wake?.();
  }

  /** Fetches the definitions unless a fetch is under way (then it runs once more after it). */
  refresh(): Promise<void> {
    return this.coalescedRefresh();
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.options.token}`, 'user-agent': 'ripcord-node-sdk', ...extra };
  }

  private async fetchOnce(): Promise<void> {
    if (this.closed) return;
    this.fetchFailed = true;
    let response: Response;
    try {
      response = await this.options.fetch(`${this.options.url}/api/v1/definitions`, {
        headers: this.headers(this.etag ? { 'if-none-match': this.etag } : {}),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs),
      });
    } catch (error) {
      this.options.onError(new RipcordSdkError('FETCH_FAILED', `could not fetch flag definitions: ${describe(error)}`, { cause: error }));
      return;
    }
    if (response.status === 304) {
      this.fetchFailed = false;
      return;
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      const code = response.status === 401 || response.status === 403 ? 'UNAUTHORIZED' : 'FETCH_FAILED';
      this.options.onError(new RipcordSdkError(code, `fetching flag definitions answered HTTP ${response.status}`));
      return;
    }
    let payload: DefinitionsPayload;
    try {
      const parsed = definitionsPayloadSchema.safeParse(await response.json());
      if (!parsed.success) throw new Error(parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      payload = parsed.data;
    } catch (error) {
      this.options.onError(new RipcordSdkError('INVALID_PAYLOAD', `flag definitions could not be read; keeping the last good ones: ${describe(error)}`, { cause: error }));
      return;
    }
    this.etag = response.headers.get('etag') ?? undefined;
    this.fetchFailed = false;
    if (!this.closed) this.options.onPayload(payload);
  }

  private async streamLoop(): Promise<void> {
    let failures = 0;
    while (!this.closed && !this.streamUnavailable) {
      const sawReady = await this.streamOnce().catch((error: unknown) => {
        if (!this.closed) this.options.onError(new RipcordSdkError('STREAM_FAILED', `change stream failed: ${describe(error)}`, { cause: error }));
        return false;
      });
      this.streamConnected = false;
      if (this.closed || this.streamUnavailable) break;
      // Poll at once so that what changed while the stream was down is not waited for.
      void this.refresh();
      failures = sawReady ? 1 : failures + 1;
      const { initialMs, maxMs } = this.options.backoff;
      const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 20));
      await this.sleep(ceiling / 2 + Math.random() * (ceiling / 2));
    }
  }

  /** One stream connection, until it ends; resolves true when the server said `ready`. */
  private async streamOnce(): Promise<boolean> {
    const abort = new AbortController();
    this.abort = abort;
    const response = await this.options.fetch(`${this.options.url}/api/v1/stream`, {
      headers: this.headers({ accept: 'text/event-stream', ...(this.lastEventId ? { 'last-event-id': this.lastEventId } : {}) }),
      signal: abort.signal,
    });
    if (response.status === 404 || response.status === 405 || response.status === 501) {
      // No stream here (an old server or a proxy): polling carries on alone.
      this.streamUnavailable = true;
      await response.body?.cancel().catch(() => undefined);
      return false;
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      const code = response.status === 401 || response.status === 403 ? 'UNAUTHORIZED' : 'STREAM_FAILED';
      throw new RipcordSdkError(code, `change stream answered HTTP ${response.status}`);
    }
    let ready = false;
    let watchdog: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => abort.abort(new Error(`no event or heartbeat for ${this.options.heartbeatTimeoutMs} ms`)), this.options.heartbeatTimeoutMs);
      watchdog.unref();
    };
    const parser = new SseParser((message) => {
      if (this.handle(message)) {
        ready = true;
        this.streamConnected = true;
        this.connections += 1;
      }
    });
    arm();
    const decoder = new TextDecoder();
    try {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        arm();
        parser.feed(decoder.decode(value, { stream: true }));
        if (parser.lastEventId !== undefined) this.lastEventId = parser.lastEventId;
      }
    } catch (error) {
      if (!abort.signal.aborted || !this.closed) throw error;
    } finally {
      clearTimeout(watchdog);
    }
    return ready;
  }

  /** Handles one stream event; true for the `ready` event that opens every connection. */
  private handle(message: SseMessage): boolean {
    if (message.event === 'ready') {
      // Whatever changed while disconnected is in the definitions: refetch (a 304 when nothing did).
      void this.refresh();
      return true;
    }
    if (!message.event.startsWith('flag.')) return false;
    let data: unknown;
    try {
      data = JSON.parse(message.data);
    } catch {
      return false;
    }
    const change = changeEventSchema.safeParse(data);
    // Re-fetched unless the event was the whole change (a version missed, an unknown shape, a new rule).
    if (!(change.success && this.options.onChangeEvent({ ...change.data, event: message.event }))) void this.refresh();
    return false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
  return String(error);
}
