import { reportChannel, type ReportChannel } from './report-channel.js';

/**
 * Tells the API which environment version this SDK instance serves: after every change it applies,
 * and as a heartbeat (at the interval the API answers with), so that a kill's confirmation can count
 * it and the fleet view can list it. It sends an id made at random, the kind of SDK, the app's name,
 * version and host when given, and the version held: never a user, a context or an address. No Node
 * built-ins: the browser client uses it too.
 */
export interface InstanceReporterOptions {
  url: string;
  token: string;
  fetch: typeof fetch;
  kind: 'node-local' | 'node-remote' | 'browser';
  app?: string;
  appVersion?: string;
  host?: string;
  sdkVersion: string;
  requestTimeoutMs: number;
  /** Until the API says otherwise. */
  heartbeatMs?: number;
  onError: (error: Error) => void;
}

const randomId = (): string =>
  globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

/** The first retry of a failed report; each further one waits twice as long, at most a heartbeat. */
const RETRY_MS = 500;

export class InstanceReporter {
  readonly id = randomId();
  private version = 0;
  private started = false;
  private closed = false;
  private heartbeatMs: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inflight: Promise<void> | undefined;
  private again = false;
  /** Reports failed in a row: the next is tried after a backoff, not a whole heartbeat later. */
  private failures = 0;
  /** Reports the API accepted (for tests and diagnostics). */
  sent = 0;
  /** The replica the last report reached. */
  replica: string | undefined;

  private readonly channel: ReportChannel;

  constructor(private readonly options: InstanceReporterOptions) {
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.channel = reportChannel(options);
  }

  /** The version this instance serves now. */
  get held(): number {
    return this.version;
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    void this.send();
  }

  /** Records that the instance now serves `version` (an environment version); a newer one is reported at once. */
  serving(version: number): void {
    if (!(version > this.version)) return;
    this.version = version;
    if (this.started && !this.closed) void this.send();
  }

  /** Stops the heartbeat and tells the API the instance is leaving (bounded by the request timeout). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    await this.inflight?.catch(() => undefined);
    if (this.started) await this.post(true).catch(() => undefined);
  }

  /** Sends now; a send while one is in flight makes exactly one more after it (the newest version). */
  private send(): Promise<void> {
    if (this.inflight) {
      this.again = true;
      return this.inflight;
    }
    this.inflight = (async () => {
      do {
        this.again = false;
        try {
          await this.post(false);
          this.failures = 0;
        } catch (error) {
          this.failures += 1;
          this.options.onError(error instanceof Error ? error : new Error(String(error)));
        }
      } while (this.again && !this.closed);
    })().finally(() => {
      this.inflight = undefined;
      this.schedule();
    });
    return this.inflight;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    // After a failure (an API busy or restarting) the version is told again within seconds: a kill's
    // confirmation waits for it, and the next heartbeat may be minutes away.
    const delay = this.failures === 0 ? this.heartbeatMs : Math.min(this.heartbeatMs, RETRY_MS * 2 ** Math.min(this.failures - 1, 6));
    this.timer = setTimeout(() => void this.send(), delay);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async post(closing: boolean): Promise<void> {
    const { kind, app, appVersion, host, sdkVersion } = this.options;
    const outcome = await this.channel.send({
      id: this.id, kind, version: this.version, app: app ?? null, app_version: appVersion ?? null, host: host ?? null, sdk_version: sdkVersion,
      ...(closing ? { closing: true } : {}),
    });
    if (outcome.status === 404) {
      // An API without instance reports: stop asking.
      this.closed = true;
      return;
    }
    if (outcome.status < 200 || outcome.status >= 300) {
      throw new Error(`the instance report answered HTTP ${outcome.status}${outcome.message ? `: ${outcome.message}` : ''}`);
    }
    if (outcome.heartbeatSeconds !== undefined && outcome.heartbeatSeconds > 0) this.heartbeatMs = Math.max(100, outcome.heartbeatSeconds * 1000);
    if (outcome.replica !== undefined) this.replica = outcome.replica;
    this.sent += 1;
  }
}
