import type { Redis } from 'ioredis';
import type { CompiledFlag, EvaluationResult } from '../engine/index.js';
import type { Logger } from '../logger.js';
import type { EvaluationRollups } from './evaluation-rollups.js';

/** Counts for one flag in one environment. */
interface Tally {
  evaluations: number;
  enabled: number;
  disabled: number;
  errors: number;
  /** Engine time, milliseconds. */
  durationMs: number;
  cacheHits: number;
  /** Epoch ms of the last evaluation, 0 when none. */
  lastEvaluation: number;
}

interface Entry {
  environment: string;
  flag: string;
  /** Since this process started: the Prometheus series. */
  total: Tally;
  /** Not yet flushed to Redis. */
  pending: Tally;
  /** Evaluations by `variant\u0000reason`. */
  outcomes: Map<string, number>;
  /** The outcome key last counted, kept to spare building the same string on every evaluation. */
  lastOutcome: { variant: string; reason: string; key: string } | undefined;
}

/**
 * Flags a bulk answer serves from pre-rendered JSON (each answers every context the same): a request
 * counts once for the group, and the count is spread over its flags when metrics are read or flushed.
 */
export interface ConstantGroup {
  readonly environment: string;
  readonly flags: ReadonlyArray<Pick<CompiledFlag, 'key' | 'offVariant'> & { readonly constant?: EvaluationResult }>;
}

/** A flag's evaluation metrics, in one environment or summed over several. */
export interface FlagMetricsView {
  flag_key: string;
  evaluation_count: number;
  enabled_count: number;
  disabled_count: number;
  error_count: number;
  avg_evaluation_time_ms: number;
  cache_hit_rate: number;
  last_evaluation: string | null;
}

const emptyTally = (): Tally => ({ evaluations: 0, enabled: 0, disabled: 0, errors: 0, durationMs: 0, cacheHits: 0, lastEvaluation: 0 });

function add(into: Tally, from: Tally): void {
  into.evaluations += from.evaluations;
  into.enabled += from.enabled;
  into.disabled += from.disabled;
  into.errors += from.errors;
  into.durationMs += from.durationMs;
  into.cacheHits += from.cacheHits;
  if (from.lastEvaluation > into.lastEvaluation) into.lastEvaluation = from.lastEvaluation;
}

// Adds a batch of flags' counts to their shared counters, one flag per key: ARGV[1] is a JSON array
// of [evaluations, enabled, disabled, errors, duration_ms, cache_hits, last_evaluation], one per key in
// order. Zero counts are skipped (a pre-rendered flag has no errors and no engine time).
const FLUSH_SCRIPT = `
local tallies = cjson.decode(ARGV[1])
local fields = {'evaluations', 'enabled', 'disabled', 'errors', 'duration_ms', 'cache_hits'}
for i, key in ipairs(KEYS) do
  local t = tallies[i]
  for f = 1, 6 do
    if t[f] ~= 0 then
      if f == 5 then redis.call('HINCRBYFLOAT', key, fields[f], t[f]) else redis.call('HINCRBY', key, fields[f], t[f]) end
    end
  end
  local last = tonumber(redis.call('HGET', key, 'last_evaluation') or '0')
  if t[7] > last then redis.call('HSET', key, 'last_evaluation', string.format('%d', t[7])) end
end
return #KEYS`;

/** The requests a constant group answered within one minute (epoch ms of its start). */
interface ConstantCounts {
  minute: number;
  requests: number;
  hits: number;
  last: number;
}

const MINUTE = 60_000;
/**
 * How often the flush spreads constant groups over their flags: a large project's bulk answer
 * pre-renders thousands, and writing each of them every second was most of the flush's work. Other
 * replicas' counts of those flags reach Redis up to this late (this process's own are read exactly).
 */
export const CONSTANTS_EVERY_MS = 10_000;

/** Flags per script call of a flush: thousands of flags cost a few commands, none of them long. */
export const FLUSH_CHUNK = 500;

type RedisWithFlush = Redis & {
  ripcordFlushFlagMetrics(keys: number, ...args: Array<string | number>): Promise<number>;
};

/**
 * Whether an evaluation served the flag "enabled": any variant but the config's off variant (the one
 * a disabled or killed flag serves), for every type. The same split as the events guards' treated and
 * untreated cohorts and the flag page's outcome rates (flag-metrics/event-store.ts).
 */
export function servedEnabled(result: EvaluationResult, offVariant: string): boolean {
  return result.reason !== 'ERROR' && result.variant !== offVariant;
}

/**
 * Per-flag evaluation metrics: counted in process on the hot path (no I/O), flushed to Redis in
 * batches so that every replica's counts add up, and exposed as Prometheus series by collect().
 */
export class FlagMetrics {
  private readonly entries = new Map<string, Map<string, Entry>>();
  private readonly constantCounts = new Map<ConstantGroup, ConstantCounts>();
  private lastSpread = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis | undefined,
    private readonly logger?: Logger,
    private readonly prefix = 'ripcord',
    /** Per-minute rollups kept in Postgres for the flag page's charts. */
    private readonly rollups?: EvaluationRollups,
  ) {
    redis?.defineCommand('ripcordFlushFlagMetrics', { lua: FLUSH_SCRIPT });
  }

  private key(environment: string, flag: string): string {
    return `${this.prefix}:metrics:${environment}:${flag}`;
  }

  /** Records one evaluation of `flag` (its key and off variant); `cacheHit` is false when L1 had to load the environment from Redis or Postgres first. */
  record(environment: string, flag: Pick<CompiledFlag, 'key' | 'offVariant'>, result: EvaluationResult, durationMs: number, now: number, cacheHit = true, n = 1): void {
    const key = flag.key;
    let byFlag = this.entries.get(environment);
    if (!byFlag) this.entries.set(environment, (byFlag = new Map()));
    let entry = byFlag.get(key);
    if (!entry) byFlag.set(key, (entry = { environment, flag: key, total: emptyTally(), pending: emptyTally(), outcomes: new Map(), lastOutcome: undefined }));
    const error = result.reason === 'ERROR';
    const enabled = servedEnabled(result, flag.offVariant);
    count(entry.total, error, enabled, durationMs, cacheHit, now, n);
    count(entry.pending, error, enabled, durationMs, cacheHit, now, n);
    let last = entry.lastOutcome;
    if (!last || last.variant !== result.variant || last.reason !== result.reason) {
      last = entry.lastOutcome = { variant: result.variant, reason: result.reason, key: `${result.variant}\u0000${result.reason}` };
    }
    entry.outcomes.set(last.key, (entry.outcomes.get(last.key) ?? 0) + n);
    this.rollups?.count(environment, key, result.variant, error, now, n);
  }

  /** Records one request answered from a group of constant flags: O(1), spread over the flags later. */
  recordConstants(group: ConstantGroup, now: number, cacheHit = true): void {
    const minute = now - (now % MINUTE);
    let counts = this.constantCounts.get(group);
    // Counts are spread within their minute, so that the per-minute rollups put them in the right one.
    if (counts && counts.minute !== minute) {
      this.spreadGroup(group, counts);
      counts = undefined;
    }
    if (!counts) this.constantCounts.set(group, (counts = { minute, requests: 0, hits: 0, last: 0 }));
    counts.requests++;
    if (cacheHit) counts.hits++;
    counts.last = now;
  }

  /** Adds what the constant groups counted to their flags. */
  private spreadConstants(): void {
    this.lastSpread = Date.now();
    if (this.constantCounts.size === 0) return;
    const counted = [...this.constantCounts];
    this.constantCounts.clear();
    for (const [group, counts] of counted) this.spreadGroup(group, counts);
  }

  private spreadGroup(group: ConstantGroup, { requests, hits, last }: ConstantCounts): void {
    this.constantCounts.delete(group);
    for (const flag of group.flags) {
      if (!flag.constant) continue;
      if (hits > 0) this.record(group.environment, flag, flag.constant, 0, last, true, hits);
      if (requests > hits) this.record(group.environment, flag, flag.constant, 0, last, false, requests - hits);
    }
  }

  /** Flushes every `intervalMs`; the timer doesn't keep the process alive. */
  start(intervalMs = 1_000): void {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush(true);
  }

  /**
   * Writes the pending counts to Redis in one pipeline; on failure they stay pending for the next try.
   * Constant groups are spread over their flags (thousands in a large project's bulk answer) only
   * every CONSTANTS_EVERY_MS, at the end of their minute, when read, or when `all` (on stop).
   */
  flush(all = false): Promise<void> {
    this.flushing ??= this.flushOnce(all).finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async flushOnce(all: boolean): Promise<void> {
    if (all || Date.now() - this.lastSpread >= CONSTANTS_EVERY_MS) this.spreadConstants();
    if (!this.redis || this.redis.status !== 'ready') return;
    const batch: Array<{ entry: Entry; tally: Tally }> = [];
    for (const byFlag of this.entries.values()) {
      for (const entry of byFlag.values()) {
        if (entry.pending.evaluations === 0) continue;
        batch.push({ entry, tally: entry.pending });
        entry.pending = emptyTally();
      }
    }
    if (batch.length === 0) return;
    // One script call per chunk of flags, their counts as one JSON argument: a command per flag made
    // the flush of a large project's bulk answers (10,000 flags) tens of milliseconds of the event loop.
    const chunks: Array<typeof batch> = [];
    for (let at = 0; at < batch.length; at += FLUSH_CHUNK) chunks.push(batch.slice(at, at + FLUSH_CHUNK));
    const pipeline = this.redis.pipeline() as unknown as RedisWithFlush;
    for (const chunk of chunks) {
      const tallies = chunk.map(({ tally: t }) => [t.evaluations, t.enabled, t.disabled, t.errors, Number(t.durationMs.toFixed(6)), t.cacheHits, t.lastEvaluation]);
      void pipeline.ripcordFlushFlagMetrics(chunk.length, ...chunk.map(({ entry }) => this.key(entry.environment, entry.flag)), JSON.stringify(tallies));
    }
    const requeue = (chunk: typeof batch) => {
      for (const { entry, tally } of chunk) add(entry.pending, tally);
    };
    try {
      const results = (await (pipeline as unknown as ReturnType<Redis['pipeline']>).exec()) ?? [];
      results.forEach(([error], i) => {
        if (error) requeue(chunks[i]!);
      });
    } catch (error) {
      requeue(batch);
      this.logger?.warn({ err: error }, 'flag metrics flush deferred');
    }
  }

  /**
   * The metrics of a flag across every replica (Redis) plus this process's unflushed counts; in
   * one environment, or summed over `environments`. Without Redis, this process's own counts.
   */
  async read(flag: string, environments: string[]): Promise<{ metrics: FlagMetricsView; byEnvironment: Record<string, FlagMetricsView>; shared: boolean }> {
    this.spreadConstants();
    const byEnvironment: Record<string, FlagMetricsView> = {};
    const sum = emptyTally();
    let shared = Boolean(this.redis && this.redis.status === 'ready');
    let stored: Array<Record<string, string>> = environments.map(() => ({}));
    if (shared) {
      try {
        const pipeline = this.redis!.pipeline();
        for (const environment of environments) pipeline.hgetall(this.key(environment, flag));
        stored = ((await pipeline.exec()) ?? []).map(([, value]) => (value ?? {}) as Record<string, string>);
      } catch {
        shared = false;
      }
    }
    environments.forEach((environment, i) => {
      const entry = this.entries.get(environment)?.get(flag);
      const tally = shared ? fromHash(stored[i] ?? {}) : emptyTally();
      if (entry) add(tally, shared ? entry.pending : entry.total);
      byEnvironment[environment] = view(flag, tally);
      add(sum, tally);
    });
    return { metrics: view(flag, sum), byEnvironment, shared };
  }

  /** Every flag counted in this process since it started, for the Prometheus collectors. */
  *totals(): Iterable<Entry> {
    this.spreadConstants();
    for (const byFlag of this.entries.values()) yield* byFlag.values();
  }
}

function count(tally: Tally, error: boolean, enabled: boolean, durationMs: number, cacheHit: boolean, now: number, n: number): void {
  tally.evaluations += n;
  if (error) tally.errors += n;
  else if (enabled) tally.enabled += n;
  else tally.disabled += n;
  tally.durationMs += durationMs * n;
  if (cacheHit) tally.cacheHits += n;
  if (now > tally.lastEvaluation) tally.lastEvaluation = now;
}

function fromHash(hash: Record<string, string>): Tally {
  return {
    evaluations: Number(hash.evaluations ?? 0),
    enabled: Number(hash.enabled ?? 0),
    disabled: Number(hash.disabled ?? 0),
    errors: Number(hash.errors ?? 0),
    durationMs: Number(hash.duration_ms ?? 0),
    cacheHits: Number(hash.cache_hits ?? 0),
    lastEvaluation: Number(hash.last_evaluation ?? 0),
  };
}

function view(flag: string, tally: Tally): FlagMetricsView {
  const n = tally.evaluations;
  return {
    flag_key: flag,
    evaluation_count: n,
    enabled_count: tally.enabled,
    disabled_count: tally.disabled,
    error_count: tally.errors,
    avg_evaluation_time_ms: n === 0 ? 0 : Number((tally.durationMs / n).toFixed(6)),
    cache_hit_rate: n === 0 ? 0 : Number((tally.cacheHits / n).toFixed(4)),
    last_evaluation: tally.lastEvaluation ? new Date(tally.lastEvaluation).toISOString() : null,
  };
}
