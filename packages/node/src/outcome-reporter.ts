import { RipcordSdkError } from './types.js';

export type Outcome = 'success' | 'error';

export interface OutcomeReporterOptions {
  url: string;
  token: string;
  fetch: typeof fetch;
  /** How often counts are sent (one request for everything counted meanwhile). */
  flushIntervalMs: number;
  requestTimeoutMs: number;
  onError: (error: RipcordSdkError) => void;
}

// The events endpoint takes at most 1000 entries a request, each count at most 1 000 000.
const MAX_BATCH = 1000;
const MAX_COUNT = 1_000_000;
// Kept while the API is unreachable; beyond this many distinct entries new ones are dropped.
const MAX_PENDING = 10_000;

/**
 * Counts outcomes per (flag, variant, outcome) in memory and sends the counts to
 * `POST /api/v1/events` in batches — never a request per evaluation. Counts that could not be sent
 * are kept for the next flush, up to a bound.
 */
export class OutcomeReporter {
  private pending = new Map<string, { flag: string; variant: string; outcome: Outcome; count: number }>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** Entries sent so far (for tests and diagnostics). */
  sent = 0;

  constructor(private readonly options: OutcomeReporterOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  record(flag: string, variant: string, outcome: Outcome, count = 1): void {
    const key = `${flag}\u0000${variant}\u0000${outcome}`;
    const entry = this.pending.get(key);
    if (entry) {
      entry.count += count;
      return;
    }
    if (this.pending.size >= MAX_PENDING) return;
    this.pending.set(key, { flag, variant, outcome, count });
  }

  get size(): number {
    return this.pending.size;
  }

  /** Sends what was counted; resolves when done (failures go to onError and are kept). */
  flush(): Promise<void> {
    this.flushing ??= this.send().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async send(): Promise<void> {
    if (this.pending.size === 0) return;
    const entries = [...this.pending.values()];
    this.pending = new Map();
    const events = entries.flatMap((e) => {
      const parts = [];
      for (let left = e.count; left > 0; left -= MAX_COUNT) parts.push({ flag: e.flag, variant: e.variant, outcome: e.outcome, count: Math.min(left, MAX_COUNT) });
      return parts;
    });
    for (let i = 0; i < events.length; i += MAX_BATCH) {
      const batch = events.slice(i, i + MAX_BATCH);
      try {
        const response = await this.options.fetch(`${this.options.url}/api/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/json', 'user-agent': 'ripcord-node-sdk' },
          body: JSON.stringify({ events: batch }),
          signal: AbortSignal.timeout(this.options.requestTimeoutMs),
        });
        await response.body?.cancel().catch(() => undefined);
        // A 4xx will not get better by retrying: drop the batch; a 5xx is kept for the next flush.
        if (response.status >= 500) throw new Error(`HTTP ${response.status}`);
        if (!response.ok) {
          this.options.onError(new RipcordSdkError('EVENTS_FAILED', `the events endpoint refused ${batch.length} outcome counts: HTTP ${response.status}`));
          continue;
        }
        this.sent += batch.length;
      } catch (error) {
        for (const e of events.slice(i)) this.record(e.flag, e.variant, e.outcome, e.count);
        this.options.onError(new RipcordSdkError('EVENTS_FAILED', `could not send outcome counts; will retry: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
        return;
      }
    }
  }
}
