import type { EvaluationContext, FlagValue } from '../../node/src/types.js';
import { coalesced } from '../../node/src/coalesce.js';
import { stableJson } from '../../node/src/stable-json.js';
import { InstanceReporter } from '../../node/src/instance-reporter.js';
import { SDK_VERSION } from '../../node/src/sdk-version.js';

export { stableJson };

/** The part of `Storage` the SDK uses (localStorage in browsers; absent on servers). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

interface EventSourceLike {
  readonly readyState: number;
  onerror: ((event: unknown) => void) | null;
  addEventListener(type: string, listener: (event: { data?: string; lastEventId?: string }) => void): void;
  close(): void;
}
type EventSourceConstructor = new (url: string) => EventSourceLike;

/** One flag as the browser holds it: a value, or an error code (the hooks then serve the default). */
export interface FlagState {
  value?: FlagValue;
  variant?: string;
  reason?: string;
  errorCode?: string;
}

/** What the hooks read. `cached` means served from localStorage until the API answers. */
export interface FlagsSnapshot {
  readonly flags: Readonly<Record<string, FlagState>>;
  readonly status: 'loading' | 'cached' | 'ready' | 'error';
  readonly updatedAt?: number;
}

export interface BrowserClientOptions {
  url: string;
  /** A client token (public by design: it may only evaluate). */
  token: string;
  context?: EvaluationContext;
  /** Flags to render before anything else is known (e.g. evaluated by the server for SSR). */
  initialFlags?: Record<string, FlagValue>;
  /** Live updates over SSE (default true). */
  live?: boolean;
  /** Polling period while the stream is unavailable (default 60 s). */
  pollIntervalMs?: number;
  /** Default: `globalThis.localStorage` when there is one. `null` turns caching off. */
  storage?: StorageLike | null;
  fetch?: typeof fetch;
  onError?: (error: Error) => void;
  /** Your application's name, shown with this browser in Ripcord's fleet view and kill confirmations. */
  appName?: string;
  appVersion?: string;
  /**
   * Report the environment version this client serves (after every change it applies, and as a
   * heartbeat) so that kills are confirmed on it (default true). Sends a random id, appName/appVersion
   * and the page's host: never the user, the context or anything stored.
   */
  reportInstance?: boolean;
}

const ANONYMOUS_KEY = 'ripcord:anonymous-key';
const LOADING: FlagsSnapshot = Object.freeze({ flags: Object.freeze({}), status: 'loading' });

/** FNV-1a, hex: names a cache entry per API, token and context without storing them as the key. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16);
}


/** The environment version an SSE event names: `ready`'s `version`, a flag event's id. */
function versionOf(event: { data?: string; lastEventId?: string }): number {
  try {
    const data = JSON.parse(event.data ?? '{}') as { version?: unknown };
    if (typeof data.version === 'number') return data.version;
  } catch {
    // not JSON: fall back on the id
  }
  const id = Number(event.lastEventId);
  return Number.isFinite(id) ? id : 0;
}

function defaultStorage(): StorageLike | null {
  try {
    const storage = (globalThis as { localStorage?: StorageLike }).localStorage;
    return storage ?? null;
  } catch {
    // Some browsers throw on access when storage is disabled.
    return null;
  }
}

/** The context with a targeting key: the app's, else a random one kept in storage so a visitor stays in one cohort. */
function withTargetingKey(context: EvaluationContext, storage: StorageLike | null): EvaluationContext {
  if (typeof context.targetingKey === 'string' && context.targetingKey.length > 0) return context;
  if (!storage) return context;
  try {
    let key = storage.getItem(ANONYMOUS_KEY);
    if (!key) {
      const random = globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
      key = `anon-${random}`;
      storage.setItem(ANONYMOUS_KEY, key);
    }
    return { ...context, targetingKey: key };
  } catch {
    return context;
  }
}

/**
 * The browser side of the React SDK, free of React: bulk OFREP evaluation with ETag, a localStorage
 * cache for the first render, and live updates over EventSource (refetching on each change). Safe
 * to construct on a server: it touches no browser API until `start()`, which only effects call.
 */
export class BrowserFlagClient {
  readonly context: EvaluationContext;
  private readonly storage: StorageLike | null;
  private readonly cacheKey: string;
  private readonly serverSnapshot: FlagsSnapshot;
  private snapshot: FlagsSnapshot;
  private readonly listeners = new Set<() => void>();
  private etag: string | undefined;
  private source: EventSourceLike | undefined;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private readonly coalescedRefresh = coalesced(() => this.fetchOnce(), () => this.running);
  private running = false;
  /** The newest environment version the stream named: a re-fetch asks for it (flagConfigEtag). */
  private announced = 0;
  private instance: InstanceReporter | undefined;

  constructor(private readonly options: BrowserClientOptions) {
    this.storage = options.storage === undefined ? defaultStorage() : options.storage;
    this.context = withTargetingKey(options.context ?? {}, this.storage);
    this.cacheKey = `ripcord:flags:${fnv1a(`${options.url}|${options.token}|${stableJson(this.context)}`)}`;
    const initial = Object.fromEntries(Object.entries(options.initialFlags ?? {}).map(([k, value]) => [k, { value }]));
    this.serverSnapshot = Object.freeze({ flags: Object.freeze(initial), status: 'loading' });
    this.snapshot = this.readCache() ?? (options.initialFlags ? this.serverSnapshot : LOADING);
  }

  /** For useSyncExternalStore; bound so it can be passed as is. */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): FlagsSnapshot => this.snapshot;

  /** What a server render and hydration see: only `initialFlags`, never the browser's cache. */
  readonly getServerSnapshot = (): FlagsSnapshot => this.serverSnapshot;

  /** Fetches the flags and opens the stream; idempotent, and may follow stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.options.reportInstance !== false && !this.instance) {
      this.instance = new InstanceReporter({
        url: this.options.url, token: this.options.token, fetch: (input, init) => (this.options.fetch ?? globalThis.fetch)(input, init), kind: 'browser',
        app: this.options.appName, appVersion: this.options.appVersion,
        host: (globalThis as { location?: { host?: string } }).location?.host || undefined,
        sdkVersion: SDK_VERSION, requestTimeoutMs: 10_000, onError: (error) => this.options.onError?.(error),
      });
    }
    void this.refresh();
    this.openStream();
    this.pollTimer = setInterval(() => {
      // The stream carries changes while it is open; polling covers a closed or missing one.
      if (!this.source || this.source.readyState === 2) void this.refresh();
    }, this.options.pollIntervalMs ?? 60_000);
  }

  stop(): void {
    this.running = false;
    void this.instance?.close();
    this.instance = undefined;
    this.source?.close();
    this.source = undefined;
    clearInterval(this.pollTimer);
  }

  /** Re-evaluates every flag (a 304 when nothing changed for this context). */
  refresh(): Promise<void> {
    return this.coalescedRefresh();
  }

  private openStream(): void {
    if (this.options.live === false) return;
    const EventSourceImpl = (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
    if (!EventSourceImpl) return;
    const source = new EventSourceImpl(`${this.options.url}/api/v1/stream?token=${encodeURIComponent(this.options.token)}`);
    // `ready` opens every (re)connection: catch up with what changed while disconnected.
    for (const type of ['ready', 'flag.updated', 'flag.killed', 'flag.restored', 'flag.archived']) {
      source.addEventListener(type, (event) => {
        this.announced = Math.max(this.announced, versionOf(event));
        void this.refresh();
      });
    }
    source.onerror = () => {
      // EventSource reconnects by itself (resuming with Last-Event-ID) unless the server refused it.
      if (source.readyState === 2) this.options.onError?.(new Error('the flag stream was refused; polling instead'));
    };
    this.source = source;
  }

  private async fetchOnce(): Promise<void> {
    const fetchImpl = this.options.fetch ?? globalThis.fetch;
    // Naming the version the stream announced makes a replica that trails wait for it (OFREP's
    // flagConfigEtag), so an answer not marked STALE holds it.
    const wanted = this.announced;
    try {
      const query = wanted > 0 ? `?flagConfigEtag=${encodeURIComponent(`"v${wanted}"`)}` : '';
      const response = await fetchImpl(`${this.options.url}/ofrep/v1/evaluate/flags${query}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.options.token}`,
          'content-type': 'application/json',
          ...(this.etag ? { 'if-none-match': this.etag } : {}),
        },
        body: JSON.stringify({ context: this.context }),
      });
      if (response.status === 304) {
        if (this.snapshot.status !== 'ready') this.set({ ...this.snapshot, status: 'ready' });
        this.serving(wanted);
        return;
      }
      if (!response.ok) throw new Error(`flag evaluation answered HTTP ${response.status}`);
      const body = (await response.json()) as { flags?: Array<{ key: string; value?: FlagValue; variant?: string; reason?: string; errorCode?: string }> };
      const flags: Record<string, FlagState> = {};
      for (const flag of body.flags ?? []) {
        flags[flag.key] = flag.errorCode ? { errorCode: flag.errorCode } : { value: flag.value, variant: flag.variant, reason: flag.reason };
      }
      this.etag = response.headers.get('etag') ?? undefined;
      this.set({ flags, status: 'ready', updatedAt: Date.now() });
      this.writeCache();
      if (!(body.flags ?? []).some((flag) => flag.reason === 'STALE')) this.serving(wanted);
    } catch (error) {
      // Keep serving what we have (cache or last answer); say why.
      if (this.snapshot.status === 'loading') this.set({ ...this.snapshot, status: 'error' });
      this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** The flags now served answer for `version`: said to the API (the first time, this starts the reports). */
  private serving(version: number): void {
    if (!this.instance || !this.running) return;
    this.instance.serving(version);
    this.instance.start();
  }

  private set(snapshot: FlagsSnapshot): void {
    this.snapshot = Object.freeze(snapshot);
    for (const listener of this.listeners) listener();
  }

  private readCache(): FlagsSnapshot | undefined {
    if (!this.storage) return undefined;
    try {
      const raw = this.storage.getItem(this.cacheKey);
      if (!raw) return undefined;
      const cached = JSON.parse(raw) as { flags?: Record<string, FlagState>; etag?: string; updatedAt?: number };
      if (!cached.flags || typeof cached.flags !== 'object') return undefined;
      this.etag = cached.etag;
      return Object.freeze({ flags: cached.flags, status: 'cached', updatedAt: cached.updatedAt });
    } catch {
      return undefined;
    }
  }

  private writeCache(): void {
    try {
      this.storage?.setItem(this.cacheKey, JSON.stringify({ flags: this.snapshot.flags, etag: this.etag, updatedAt: this.snapshot.updatedAt }));
    } catch {
      // A full or disabled storage only costs the next first render its cache.
    }
  }
}
