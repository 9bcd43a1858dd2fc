import { createHash } from 'node:crypto';
import type { CompiledFlag, EvaluationResult } from '../engine/index.js';
import type { ConstantGroup } from './flag-metrics.js';

export const OFREP_ERROR_CODES = new Set(['PARSE_ERROR', 'TARGETING_KEY_MISSING', 'INVALID_CONTEXT', 'GENERAL']);

export function metadataOf(flag: CompiledFlag, result: EvaluationResult): Record<string, string | number | boolean> {
  const metadata: Record<string, string | number | boolean> = { version: flag.version };
  if (result.ruleId) metadata.ruleId = result.ruleId;
  if (result.metadata) Object.assign(metadata, result.metadata);
  return metadata;
}

// A flag answers few distinct results (on, off, a rule's value…): their JSON is kept per compiled
// flag (so a new version starts afresh) and a bulk answer is mostly string joins. Looked up by the
// result's own fields (no key built per item: a bulk answer looks up thousands).
interface Fragment {
  readonly variant: string;
  readonly reason: string;
  readonly ruleId: string | undefined;
  readonly value: unknown;
  readonly json: string;
}
const fragments = new WeakMap<CompiledFlag, Fragment[]>();
const MAX_FRAGMENTS_PER_FLAG = 32;

/** One flag's entry of an OFREP bulk answer, as JSON. */
export function bulkItem(flag: CompiledFlag, result: EvaluationResult): string {
  if (result.reason === 'ERROR') {
    const code = result.errorCode && OFREP_ERROR_CODES.has(result.errorCode) ? result.errorCode : 'GENERAL';
    return JSON.stringify({ key: flag.key, errorCode: code, errorDetails: result.errorMessage ?? 'evaluation failed' });
  }
  const value = result.value;
  const cacheable = result.metadata === undefined && (value === null || typeof value !== 'object');
  const known = cacheable ? fragments.get(flag) : undefined;
  if (known) {
    for (let i = 0; i < known.length; i++) {
      const f = known[i]!;
      if (f.variant === result.variant && f.reason === result.reason && f.ruleId === result.ruleId && Object.is(f.value, value)) return f.json;
    }
  }
  const json = JSON.stringify({ key: flag.key, value, reason: result.reason, variant: result.variant, metadata: metadataOf(flag, result) });
  if (cacheable) {
    let list = known;
    if (!list) fragments.set(flag, (list = []));
    if (list.length >= MAX_FRAGMENTS_PER_FLAG) list.length = 0;
    list.push({ variant: result.variant, reason: result.reason, ruleId: result.ruleId, value, json });
  }
  return json;
}

/**
 * How a bulk answer of one environment's flags is put together: the flags that answer every context
 * the same are rendered once, as runs of JSON between the flags that must be evaluated per request.
 */
export interface BulkPlan {
  /** Pre-rendered runs (each a comma-separated list of items) and flags to evaluate, in key order. */
  readonly parts: ReadonlyArray<Run | CompiledFlag>;
  /** The flags evaluated per request, in order. */
  readonly dynamic: readonly CompiledFlag[];
  /** The pre-rendered flags (each has a `constant` answer). */
  readonly constant: readonly CompiledFlag[];
  /** The same, as metrics count them: once per request. */
  readonly constants: ConstantGroup;
  /** A digest of the pre-rendered runs: the entity tag hashes it with the per-request items only. */
  readonly digest: string;
}

/** A run of pre-rendered items; a long one also as UTF-8, copied into answers as it is. */
export interface Run {
  readonly text: string;
  readonly encoded: Buffer | undefined;
}

/** Runs at least this long are kept encoded: copying bytes beats encoding the text on every answer. */
const ENCODE_FROM_BYTES = 4096;

const isRun = (part: Run | CompiledFlag): part is Run => 'text' in part;

// Keyed by the snapshot's sorted array, which is rebuilt whenever a flag of the environment changes.
const plans = new WeakMap<readonly CompiledFlag[], BulkPlan>();

/** The plan of a bulk answer over `flags` (an environment's flags in key order), built once per change. */
export function bulkPlanOf(environment: string, flags: readonly CompiledFlag[]): BulkPlan {
  let plan = plans.get(flags);
  if (plan) return plan;
  const parts: Array<Run | CompiledFlag> = [];
  const dynamic: CompiledFlag[] = [];
  const constant: CompiledFlag[] = [];
  let run: string[] = [];
  const hash = createHash('sha1');
  const endRun = () => {
    if (run.length === 0) return;
    const text = run.join(',');
    const encoded = Buffer.from(text);
    parts.push({ text, encoded: encoded.length >= ENCODE_FROM_BYTES ? encoded : undefined });
    hash.update(`${parts.length}:${text}\n`);
    run = [];
  };
  for (const flag of flags) {
    if (flag.constant) {
      run.push(bulkItem(flag, flag.constant));
      constant.push(flag);
    } else {
      endRun();
      parts.push(flag);
      dynamic.push(flag);
      hash.update(`${parts.length}:${flag.key}\n`);
    }
  }
  endRun();
  plan = { parts, dynamic, constant, constants: { environment, flags: constant }, digest: hash.digest('base64url') };
  plans.set(flags, plan);
  return plan;
}

/** A rendered bulk answer: its body as sent and its entity tag. */
export interface RenderedBulk {
  body: Buffer;
  etag: string;
}

// A plan without dynamic flags answers every request alike (per tail: the event streams member differs per token).
const constantAnswers = new WeakMap<BulkPlan, Map<string, RenderedBulk>>();
const MAX_TAILS_PER_PLAN = 64;

/**
 * A bulk answer's body (`{"flags":[...]` + `tail`) from a plan and the items of its dynamic flags (in
 * order), as UTF-8 (long pre-rendered runs are copied as bytes, the rest encoded once), and its entity
 * tag: a hash of the plan's digest, those items and the tail, so that it changes exactly when the body
 * does without hashing the pre-rendered runs again. A plan with no dynamic flag is rendered once per tail.
 */
export function renderBulk(plan: BulkPlan, items: readonly string[], tail: string): RenderedBulk {
  if (plan.dynamic.length > 0) return render(plan, items, tail);
  let byTail = constantAnswers.get(plan);
  let rendered = byTail?.get(tail);
  if (rendered) return rendered;
  rendered = render(plan, items, tail);
  if (!byTail) constantAnswers.set(plan, (byTail = new Map()));
  if (byTail.size >= MAX_TAILS_PER_PLAN) byTail.clear();
  byTail.set(tail, rendered);
  return rendered;
}

function render(plan: BulkPlan, items: readonly string[], tail: string): RenderedBulk {
  const chunks: Buffer[] = [];
  let pending = '{"flags":[';
  let next = 0;
  for (let i = 0; i < plan.parts.length; i++) {
    const part = plan.parts[i]!;
    if (i > 0) pending += ',';
    if (!isRun(part)) {
      pending += items[next++]!;
    } else if (part.encoded) {
      chunks.push(Buffer.from(pending), part.encoded);
      pending = '';
    } else {
      pending += part.text;
    }
  }
  pending += ']';
  pending += tail;
  chunks.push(Buffer.from(pending));
  const etag = createHash('sha1').update(`${plan.digest}\n${items.join('\n')}\n${tail}`).digest('base64url');
  return { body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), etag: `"${etag}"` };
}
