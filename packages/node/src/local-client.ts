import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import { InstanceReporter } from './instance-reporter.js';
import { SDK_VERSION } from './sdk-version.js';
import { DefinitionsSync } from './definitions-sync.js';
import { FlagStore, toDetails } from './definitions-store.js';
import type { ClientOptions } from './options.js';
import { OutcomeReporter, type Outcome } from './outcome-reporter.js';
import { definitionsPayloadSchema, type ChangeEventData, type DefinitionsPayload } from '../../../src/protocol/definitions.js';
import {
  RipcordSdkError,
  type DefaultOf,
  type DefinitionsSource,
  type EvaluationContext,
  type EvaluationDetails,
  type FlagKey,
  type FlagValue,
  type JsonValue,
  type KeyOfType,
  type ValueOf,
} from './types.js';

/** The value type a default stands for. */
export function typeOfDefault(value: unknown): 'boolean' | 'string' | 'number' | 'json' {
  return typeof value === 'boolean' ? 'boolean' : typeof value === 'string' ? 'string' : typeof value === 'number' ? 'number' : 'json';
}

/** What a local client reports about itself. */
export interface LocalClientStatus {
  source: DefinitionsSource;
  environment: string | undefined;
  version: number;
  flags: number;
  streamConnected: boolean;
  lastUpdatedAt: string | undefined;
  lastError: string | undefined;
}

/**
 * A local-mode client: evaluates in process from the environment's definitions, kept fresh over
 * SSE (polling as the fallback), serving the last good definitions through any outage. Every
 * evaluation method answers synchronously and never throws.
 */
export class LocalClient {
  readonly mode = 'local' as const;
  private readonly store: FlagStore;
  private readonly sync: DefinitionsSync | undefined;
  private readonly reporter: OutcomeReporter | undefined;
  private readonly instance: InstanceReporter | undefined;
  private readonly listeners = new Set<(keys: string[]) => void>();
  private readonly readyWaiters = new Set<(source: DefinitionsSource) => void>();
  private source: DefinitionsSource = 'none';
  private lastUpdatedAt: number | undefined;
  private lastError: string | undefined;
  private closed = false;

  constructor(private readonly options: ClientOptions) {
    this.store = new FlagStore(options.clock ?? Date.now);
    this.loadBootstrap();
    if (options.offline) return;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    const { url, token } = options as Required<Pick<ClientOptions, 'url' | 'token'>>;
    this.sync = new DefinitionsSync({
      url, token, fetch: fetchImpl, stream: options.stream, pollIntervalMs: options.pollIntervalMs,
      backoff: options.backoff, heartbeatTimeoutMs: options.heartbeatTimeoutMs, requestTimeoutMs: options.requestTimeoutMs,
      onPayload: (payload) => this.install(payload, 'server'),
      onChangeEvent: (change) => this.onChangeEvent(change),
      onError: (error) => this.report(error),
    });
    this.reporter = new OutcomeReporter({
      url, token, fetch: fetchImpl, flushIntervalMs: options.eventsFlushIntervalMs, requestTimeoutMs: options.requestTimeoutMs,
      onError: (error) => this.report(error),
    });
    if (options.reportInstance) {
      this.instance = new InstanceReporter({
        url, token, fetch: fetchImpl, kind: 'node-local', app: options.appName, appVersion: options.appVersion, host: hostname(),
        sdkVersion: SDK_VERSION, requestTimeoutMs: options.requestTimeoutMs,
        onError: (error) => this.report(new RipcordSdkError('REPORT_FAILED', `could not report this instance: ${error.message}`, { cause: error })),
      });
      this.instance.serving(this.store.version);
    }
    this.sync.start();
    this.reporter.start();
  }

  /** This instance's id in Ripcord's fleet view (undefined when it does not report). */
  get instanceId(): string | undefined {
    return this.instance?.id;
  }

  /** The served value of a boolean flag, or `defaultValue` when it can't be had (unknown flag, wrong type, error). */
  boolean<K extends KeyOfType<boolean>>(key: K, defaultValue: boolean, context?: EvaluationContext): boolean {
    return this.value(key, defaultValue, context, 'boolean');
  }

  string<K extends KeyOfType<string>>(key: K, defaultValue: string, context?: EvaluationContext): string {
    return this.value(key, defaultValue, context, 'string');
  }

  number<K extends KeyOfType<number>>(key: K, defaultValue: number, context?: EvaluationContext): number {
    return this.value(key, defaultValue, context, 'number');
  }

  json<T extends JsonValue, K extends FlagKey = FlagKey>(key: K, defaultValue: T, context?: EvaluationContext): T {
    return this.value(key, defaultValue, context, 'json');
  }

  /** The value with its variant, reason, rule and version; the default and an error code on any failure. */
  details<K extends FlagKey, D extends DefaultOf<K>>(key: K, defaultValue: D, context?: EvaluationContext): EvaluationDetails<ValueOf<K, D>> {
    return this.resolve(key, defaultValue as FlagValue, context) as EvaluationDetails<ValueOf<K, D>>;
  }

  /** details() without the generated key types, for adapters (middleware, OpenFeature) that pass keys through. */
  resolve(key: string, defaultValue: FlagValue, context?: EvaluationContext): EvaluationDetails {
    try {
      const found = this.store.evaluate(key, context);
      const details = toDetails(key, defaultValue, typeOfDefault(defaultValue), found);
      if (!found && this.source === 'none') return { ...details, errorCode: 'PROVIDER_NOT_READY', errorMessage: 'no flag definitions yet' };
      return details;
    } catch (error) {
      return { flagKey: key, value: defaultValue, reason: 'ERROR', errorCode: 'GENERAL', errorMessage: String(error) };
    }
  }

  /** Every flag for one context, with details (no type check: each flag's own value). */
  all(context?: EvaluationContext): Record<string, EvaluationDetails> {
    const out: Record<string, EvaluationDetails> = {};
    for (const key of this.store.keys()) {
      try {
        out[key] = toDetails(key, null, undefined, this.store.evaluate(key, context));
      } catch (error) {
        out[key] = { flagKey: key, value: null, reason: 'ERROR', errorCode: 'GENERAL', errorMessage: String(error) };
      }
    }
    return out;
  }

  /**
   * Records the outcome of work done under a flag (for guarded rollouts): the variant this context
   * gets is looked up and the count is sent with the next batch.
   */
  track(key: FlagKey, outcome: Outcome, context?: EvaluationContext): void {
    try {
      const found = this.store.evaluate(key, context);
      if (found) this.recordOutcome(key, found.result.variant, outcome);
    } catch {
      // tracking never breaks the caller
    }
  }

  /** Records `count` outcomes of a variant already known (the middleware uses this). */
  recordOutcome(key: string, variant: string, outcome: Outcome, count = 1): void {
    this.reporter?.record(key, variant, outcome, count);
  }

  /** Evaluations since the last call, per flag and variant (counted in process, never sent per evaluation). */
  evaluationCounts(): Array<{ flag: string; variant: string; count: number }> {
    return this.store.drainCounts();
  }

  /**
   * Resolves once definitions from the server are installed. After `timeoutMs` it resolves with
   * `'bootstrap'` when a bootstrap or cache file is serving, and rejects when there is nothing at all.
   */
  ready(timeoutMs = 5_000): Promise<DefinitionsSource> {
    if (this.source === 'server' || (this.options.offline && this.source !== 'none')) return Promise.resolve(this.source);
    return new Promise((resolve, reject) => {
      const done = (source: DefinitionsSource) => {
        clearTimeout(timer);
        this.readyWaiters.delete(done);
        resolve(source);
      };
      const timer = setTimeout(() => {
        this.readyWaiters.delete(done);
        if (this.source !== 'none') resolve(this.source);
        else reject(new RipcordSdkError('TIMEOUT', `no flag definitions within ${timeoutMs} ms${this.lastError ? `: ${this.lastError}` : ''}`));
      }, timeoutMs);
      this.readyWaiters.add(done);
    });
  }

  /** Calls `listener` with the keys whose definitions changed; returns the unsubscribe function. */
  onChange(listener: (keys: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(): LocalClientStatus {
    return {
      source: this.source,
      environment: this.store.environment,
      version: this.store.version,
      flags: this.store.size,
      streamConnected: this.sync?.connected ?? false,
      lastUpdatedAt: this.lastUpdatedAt === undefined ? undefined : new Date(this.lastUpdatedAt).toISOString(),
      lastError: this.lastError,
    };
  }

  /** Fetches the definitions now (a 304 when nothing changed). */
  async refresh(): Promise<void> {
    await this.sync?.refresh();
  }

  /** Sends the outcome counts gathered so far. */
  async flush(): Promise<void> {
    await this.reporter?.flush();
  }

  /** Stops the stream and timers and sends what is left. Evaluation keeps answering from the last definitions. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sync?.close();
    await Promise.all([this.reporter?.close(), this.instance?.close()]);
  }

  private value<T extends FlagValue>(key: string, defaultValue: T, context: EvaluationContext | undefined, type: 'boolean' | 'string' | 'number' | 'json'): T {
    try {
      return this.store.value(key, defaultValue, context, type);
    } catch {
      return defaultValue;
    }
  }

  private install(payload: DefinitionsPayload, source: 'bootstrap' | 'server'): void {
    const { changed } = this.store.install(payload);
    this.lastUpdatedAt = Date.now();
    if (source === 'server' || this.source === 'none') this.source = source;
    if (source === 'server') {
      this.lastError = undefined;
      this.writeCacheFile(payload);
      for (const waiter of [...this.readyWaiters]) waiter('server');
      // Reported once the API's definitions serve: the first report says which version it holds.
      this.instance?.serving(this.store.version);
      this.instance?.start();
    }
    if (changed.length > 0) this.emit(changed);
  }

  /** Applies what the event carries; true when that was the whole change (reported at once, nothing re-fetched). */
  private onChangeEvent(change: ChangeEventData): boolean {
    if (this.store.applyChange(change)) {
      this.lastUpdatedAt = Date.now();
      this.instance?.serving(this.store.version);
      if (this.options.cacheFile) this.writeCacheFile(this.store.toPayload());
      this.emit([change.key]);
      return true;
    }
    // A kill is applied from the event itself, before the refetch: it must not wait for a round trip.
    if (change.event === 'flag.killed' && this.store.applyKill(change.key, change.version)) this.emit([change.key]);
    return false;
  }

  private emit(keys: string[]): void {
    for (const listener of this.listeners) {
      try {
        listener(keys);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  private report(error: RipcordSdkError): void {
    this.lastError = error.message;
    try {
      this.options.onError?.(error);
    } catch {
      // onError must not break the client
    }
  }

  private loadBootstrap(): void {
    const { bootstrap, cacheFile } = this.options;
    const sources: Array<{ what: string; read: () => unknown }> = [];
    if (bootstrap !== undefined) {
      sources.push(typeof bootstrap === 'string' ? { what: bootstrap, read: () => JSON.parse(readFileSync(bootstrap, 'utf8')) } : { what: 'the bootstrap object', read: () => bootstrap });
    }
    if (cacheFile) sources.push({ what: cacheFile, read: () => JSON.parse(readFileSync(cacheFile, 'utf8')) });
    for (const { what, read } of sources) {
      try {
        const parsed = definitionsPayloadSchema.safeParse(read());
        if (!parsed.success) throw new Error(parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
        this.install(parsed.data, 'bootstrap');
      } catch (error) {
        // A missing cache file is normal on the first start.
        if (what === cacheFile && (error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        this.report(new RipcordSdkError('BOOTSTRAP_FAILED', `could not read bootstrap definitions from ${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
      }
    }
  }

  private writeCacheFile(payload: DefinitionsPayload): void {
    const file = this.options.cacheFile;
    if (!file) return;
    try {
      mkdirSync(dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      writeFileSync(temporary, JSON.stringify(payload));
      renameSync(temporary, file);
    } catch (error) {
      this.report(new RipcordSdkError('BOOTSTRAP_FAILED', `could not write the cache file ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
    }
  }
}
