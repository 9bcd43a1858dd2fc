import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { expect } from 'vitest';
import type { FlagDefinition } from '../../../src/domain/flag.js';
import { segmentSchema, type Segment } from '../../../src/domain/segment.js';
import { inexpressibleReason } from '../../../src/flagd/flagd-document.js';
import bucketing from '../../vectors/bucketing.json' with { type: 'json' };
import errors from '../../vectors/errors.json' with { type: 'json' };
import operators from '../../vectors/operators.json' with { type: 'json' };
import precedence from '../../vectors/precedence.json' with { type: 'json' };
import schedule from '../../vectors/schedule.json' with { type: 'json' };
import variants from '../../vectors/variants.json' with { type: 'json' };
import { uniqueKey, type Stack } from '../harness.js';

/**
 * What the flagd provider tests share (flagd-sync.test.ts for Python, flagd-java.test.ts for Java):
 * the engine vectors, the comparison with Ripcord's OFREP answers, the vector flags created live, and
 * a driver for a provider run as a child process speaking one JSON command/answer per line.
 */

export interface VectorCase { name: string; flag: string; context: Record<string, unknown>; now: string; expected: { value?: unknown; variant?: string; reason: string } }
export interface VectorFile { flags: Record<string, FlagDefinition>; segments?: unknown[]; cases: VectorCase[] }
export const vectorFiles = { precedence, operators, schedule, bucketing, errors, variants } as unknown as Record<string, VectorFile>;
export const allVectorCases = Object.entries(vectorFiles).flatMap(([fileName, file]) => file.cases.map((c) => ({ fileName, file, c, def: file.flags[c.flag]! })));

export function segmentsOf(file: VectorFile): Map<string, Segment> {
  return new Map((file.segments ?? []).map((s) => segmentSchema.parse(s)).map((s) => [s.key, s]));
}

/** flagd's reason for each of Ripcord's (docs/architecture.md, "flagd as an edge tier"). */
const FLAGD_REASONS: Record<string, string[]> = {
  STATIC: ['STATIC', 'DEFAULT'], DISABLED: ['STATIC'], SPLIT: ['TARGETING_MATCH'], TARGETING_MATCH: ['TARGETING_MATCH'], DEFAULT: ['DEFAULT'], ERROR: ['ERROR'],
};

export interface Answer { value?: unknown; variant?: string; reason: string; errorCode?: string }

/** Whether flagd's answer is Ripcord's: the same value and variant (or both an error), with the mapped reason. */
export function agrees(ripcord: Answer, flagd: Answer): boolean {
  if (ripcord.reason === 'ERROR') return flagd.reason === 'ERROR';
  return JSON.stringify(flagd.value) === JSON.stringify(ripcord.value) && flagd.variant === ripcord.variant && (FLAGD_REASONS[ripcord.reason] ?? []).includes(flagd.reason);
}

/** A flagd provider in a child process: one JSON command per line, one answer per line, each within a bound. */
export class FlagdClientProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';

  constructor(command: string, args: string[]) {
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  send(command: unknown): void {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  async answer<T>(timeoutMs = 60_000): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the flagd client gave no answer within ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
    });
    try {
      const next = await Promise.race([this.lines.next(), timeout]);
      if (next.done) throw new Error(`the flagd client exited; stderr: ${this.stderr}`);
      return JSON.parse(next.value) as T;
    } finally {
      clearTimeout(timer);
    }
  }

  async call<T>(command: unknown, timeoutMs?: number): Promise<T> {
    this.send(command);
    return this.answer<T>(timeoutMs);
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

/** Ripcord's own OFREP answer (errors as `{ reason: 'ERROR', errorCode }`). */
export async function ofrepAnswer(stack: Stack, token: string, key: string, context: Record<string, unknown>): Promise<Answer> {
  const response = await fetch(`${stack.api.url}/ofrep/v1/evaluate/flags/${key}`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ context }),
  });
  const body = await response.json() as Answer;
  return body.errorCode ? { reason: 'ERROR', errorCode: body.errorCode } : body;
}

/**
 * Creates every expressible vector flag in Ripcord under a key of its own (segments too, references
 * rewritten), returning vector case → live key and the flags the API refuses to store.
 */
export async function createVectorFlags(stack: Stack, environment: string, prefix: string): Promise<{ liveKeys: Map<VectorCase, { key: string; type: FlagDefinition['type'] }>; refused: string[] }> {
  const liveKeys = new Map<VectorCase, { key: string; type: FlagDefinition['type'] }>();
  const refused: string[] = [];
  // A segment a vector names without defining never matches, and neither does an empty list segment.
  const segmentKeys = new Map<string, string>();
  for (const [fileName, file] of Object.entries(vectorFiles)) {
    const defined = segmentsOf(file);
    const named = Object.values(file.flags).flatMap((def) => (Array.isArray(def.config?.targeting) ? def.config.targeting.flatMap((t) => t.segments) : []));
    const missing = [...new Set(named)].filter((key) => !defined.has(key)).map((key): Segment => ({ key, kind: 'list', members: [] }));
    for (const segment of [...defined.values(), ...missing]) {
      const key = `${prefix}-${fileName}-${segment.key}`;
      const created = await stack.request('POST', '/api/v1/segments', { body: { ...segment, key } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      segmentKeys.set(`${fileName}/${segment.key}`, key);
    }
  }
  for (const [fileName, file] of Object.entries(vectorFiles)) {
    for (const [id, def] of Object.entries(file.flags)) {
      if (inexpressibleReason(def, segmentsOf(file)) !== undefined) continue;
      const key = `${prefix}-${fileName}-${id}`.replace(/[^A-Za-z0-9._-]/g, '_');
      const { kill_switch: killSwitch, ...config } = def.config as FlagDefinition['config'] & Record<string, unknown>;
      const put = { ...config, targeting: (config.targeting ?? []).map((t) => ({ ...t, segments: t.segments.map((s) => segmentKeys.get(`${fileName}/${s}`) ?? s) })) };
      expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: def.type } })).status).toBe(201);
      const written = await stack.request('PUT', `/api/v1/flags/${key}/environments/${environment}`, { body: put });
      // A stored config the API refuses (errors.json) can't be synced live; the offline check covers it.
      if (written.status !== 200) {
        refused.push(`${fileName}/${id}: ${written.status} ${JSON.stringify(written.body).slice(0, 160)}`);
        continue;
      }
      if (killSwitch?.enabled) {
        expect((await stack.request('POST', `/api/v1/flags/${key}/environments/${environment}/kill-switch`, { body: { reason: 'vector' } })).status).toBe(201);
      }
      for (const c of file.cases) if (c.flag === id) liveKeys.set(c, { key, type: def.type });
    }
  }
  return { liveKeys, refused };
}

/**
 * Waits until the provider holds every change written so far: a document carries the whole snapshot
 * and snapshots apply writes in order, so once a flag written last serves on, all earlier writes are in.
 */
export async function waitForSync(stack: Stack, environment: string, provider: FlagdClientProcess): Promise<void> {
  const key = uniqueKey('fd-barrier');
  expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
  expect((await stack.request('PUT', `/api/v1/flags/${key}/environments/${environment}`, { body: { enabled: true, value: true, off_value: false } })).status).toBe(200);
  const seen = await provider.call<{ seen_at_ms: number | null }>({ op: 'wait', key, type: 'boolean', context: {}, value: true, timeout_ms: 15_000 }, 20_000);
  expect(seen.seen_at_ms, 'the provider to sync').not.toBeNull();
}

/** The live vector cases through the provider against Ripcord's OFREP: the disagreements. */
export async function compareVectors(stack: Stack, token: string, provider: FlagdClientProcess, liveKeys: Map<VectorCase, { key: string; type: string }>): Promise<string[]> {
  const live = [...liveKeys.entries()];
  const { answers } = await provider.call<{ answers: Answer[] }>({ op: 'evaluate', items: live.map(([c, { key, type }]) => ({ key, type, context: c.context })) });
  const disagreements: string[] = [];
  for (const [i, [c, { key }]] of live.entries()) {
    const ripcord = await ofrepAnswer(stack, token, key, c.context);
    if (!agrees(ripcord, answers[i]!)) disagreements.push(`${c.name}: Ripcord ${JSON.stringify(ripcord)}, flagd ${JSON.stringify(answers[i])}`);
  }
  return disagreements;
}

/** A 50/30/20 split of three string variants, created in the environment; 1,000 users through the provider and OFREP. */
export const SPLIT_WEIGHTS: ReadonlyArray<readonly [variant: string, weight: number]> = [['control', 50], ['compact', 30], ['wide', 20]];
export const SPLIT_USERS = Array.from({ length: 1000 }, (_, i) => `user-${i}`);

export async function compareSplit(stack: Stack, environment: string, token: string, provider: FlagdClientProcess, key: string): Promise<{ disagreements: string[]; counts: Record<string, number>; answers: Answer[] }> {
  expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'string' } })).status).toBe(201);
  const config = {
    enabled: true, on_variant: 'control', off_variant: 'control',
    variants: [{ name: 'control', value: 'control' }, { name: 'compact', value: 'compact' }, { name: 'wide', value: 'wide' }],
    split: SPLIT_WEIGHTS.map(([variant, weight]) => ({ variant, weight })),
  };
  expect((await stack.request('PUT', `/api/v1/flags/${key}/environments/${environment}`, { body: config })).status).toBe(200);
  await waitForSync(stack, environment, provider);
  const users = SPLIT_USERS;
  const { answers } = await provider.call<{ answers: Answer[] }>({ op: 'evaluate', items: users.map((u) => ({ key, type: 'string', context: { targetingKey: u } })) });
  const disagreements: string[] = [];
  const counts: Record<string, number> = {};
  for (const [i, user] of users.entries()) {
    const ripcord = await ofrepAnswer(stack, token, key, { targetingKey: user });
    if (!agrees(ripcord, answers[i]!)) disagreements.push(`${user}: Ripcord ${JSON.stringify(ripcord)}, flagd ${JSON.stringify(answers[i])}`);
    counts[String(ripcord.value)] = (counts[String(ripcord.value)] ?? 0) + 1;
  }
  return { disagreements, counts, answers };
}

/** Creates a flag that is on, waits for the provider to serve it, kills it: milliseconds until the provider served the kill. */
export async function killReachesProvider(stack: Stack, environment: string, provider: FlagdClientProcess, key: string): Promise<number> {
  expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
  expect((await stack.request('PUT', `/api/v1/flags/${key}/environments/${environment}`, { body: { enabled: true, value: true, off_value: false } })).status).toBe(200);
  const context = { targetingKey: 'alice' };
  const on = await provider.call<{ seen_at_ms: number | null }>({ op: 'wait', key, type: 'boolean', context, value: true, timeout_ms: 15_000 }, 20_000);
  expect(on.seen_at_ms).not.toBeNull();
  provider.send({ op: 'wait', key, type: 'boolean', context, value: false, timeout_ms: 10_000 });
  const killedAt = Date.now();
  expect((await stack.request('POST', `/api/v1/flags/${key}/environments/${environment}/kill-switch`, { body: { reason: 'flagd provider test' } })).status).toBe(201);
  const seen = await provider.answer<{ seen_at_ms: number | null; last: Answer }>(15_000);
  expect(seen.seen_at_ms, JSON.stringify(seen.last)).not.toBeNull();
  return Math.round(seen.seen_at_ms! - killedAt);
}
