import { Agent, request } from 'node:http';

export interface LoadFigures {
  requests: number;
  failed: number;
  /** Answers by OpenFeature reason (STALE included). */
  reasons: Record<string, number>;
  /** Answers by value served (JSON), e.g. `{ "false": 120 }`. */
  values: Record<string, number>;
  /** Answers by backend that served them. */
  backends: Record<string, number>;
  /** Answers by value, then by backend that served them, e.g. `{ "false": { "api-0": 60, "api-2": 58 } }`. */
  valueBackends: Record<string, Record<string, number>>;
  /** By value: when the last answer with that value was sent, in ms after start(). */
  valueLastSentMs: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The first few failures, to say what went wrong. */
  failures: string[];
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Constant, bounded evaluation load through the load balancer: `concurrency` loops, each paced so
 * that together they send about `ratePerSecond` OFREP evaluations of `flag`. Counts every answer
 * that isn't a 200 with a value as failed.
 */
export class EvaluationLoad {
  private running = false;
  private loops: Promise<void>[] = [];
  private latencies: number[] = [];
  private figures = this.emptyFigures();
  private startedAt = 0;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });

  constructor(private readonly options: { url: string; token: string; flag: () => string; ratePerSecond?: number; concurrency?: number }) {}

  private emptyFigures() {
    return {
      requests: 0, failed: 0, reasons: {} as Record<string, number>, values: {} as Record<string, number>, backends: {} as Record<string, number>,
      valueBackends: {} as Record<string, Record<string, number>>, valueLastSentMs: {} as Record<string, number>, failures: [] as string[],
    };
  }

  start(): void {
    this.running = true;
    this.startedAt = performance.now();
    const concurrency = this.options.concurrency ?? 4;
    const gapMs = (1000 * concurrency) / (this.options.ratePerSecond ?? 200);
    for (let i = 0; i < concurrency; i++) this.loops.push(this.loop(gapMs));
  }

  private async loop(gapMs: number): Promise<void> {
    while (this.running) {
      const started = performance.now();
      await this.once();
      const rest = gapMs - (performance.now() - started);
      if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    }
  }

  private once(): Promise<void> {
    const started = performance.now();
    const flag = this.options.flag();
    return new Promise<void>((resolve) => {
      const fail = (why: string) => {
        this.figures.failed++;
        if (this.figures.failures.length < 10) this.figures.failures.push(why);
        resolve();
      };
      const req = request(`${this.options.url}/ofrep/v1/evaluate/flags/${flag}`, {
        method: 'POST', agent: this.agent, timeout: 5_000,
        headers: { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/json' },
      }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          this.figures.requests++;
          this.latencies.push(performance.now() - started);
          const backend = String(res.headers['x-backend'] ?? '?');
          this.figures.backends[backend] = (this.figures.backends[backend] ?? 0) + 1;
          if (res.statusCode !== 200) return fail(`${res.statusCode} from ${backend}: ${text.slice(0, 200)}`);
          try {
            const body = JSON.parse(text) as { value?: unknown; reason?: string };
            if (body.value === undefined) return fail(`no value from ${backend}: ${text.slice(0, 200)}`);
            this.figures.reasons[body.reason ?? '?'] = (this.figures.reasons[body.reason ?? '?'] ?? 0) + 1;
            const value = JSON.stringify(body.value);
            this.figures.values[value] = (this.figures.values[value] ?? 0) + 1;
            const byBackend = (this.figures.valueBackends[value] ??= {});
            byBackend[backend] = (byBackend[backend] ?? 0) + 1;
            this.figures.valueLastSentMs[value] = Math.round(started - this.startedAt);
          } catch {
            return fail(`unreadable answer from ${backend}`);
          }
          resolve();
        });
        res.on('error', () => fail('response error'));
      });
      req.on('timeout', () => req.destroy(new Error('timed out after 5 s')));
      req.on('error', (error) => {
        this.figures.requests++;
        fail(String(error.message));
      });
      req.end('{"context":{"targetingKey":"chaos-user"}}');
    });
  }

  /** The figures since the last reset. */
  read(): LoadFigures {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      ...this.figures, reasons: { ...this.figures.reasons }, values: { ...this.figures.values }, backends: { ...this.figures.backends }, failures: [...this.figures.failures],
      valueBackends: Object.fromEntries(Object.entries(this.figures.valueBackends).map(([value, counts]) => [value, { ...counts }])),
      valueLastSentMs: { ...this.figures.valueLastSentMs },
      p50Ms: Number(percentile(sorted, 50).toFixed(2)), p99Ms: Number(percentile(sorted, 99).toFixed(2)), maxMs: Number((sorted.at(-1) ?? 0).toFixed(2)),
    };
  }

  reset(): void {
    this.latencies = [];
    this.figures = this.emptyFigures();
  }

  async stop(): Promise<LoadFigures> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
    this.agent.destroy();
    return this.read();
  }
}
