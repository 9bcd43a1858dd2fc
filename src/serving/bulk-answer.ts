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
// flag (so a new version starts afresh) and a bulk answer is mostly string joins.
const fragments = new WeakMap<CompiledFlag, Map<string, string>>();
const MAX_FRAGMENTS_PER_FLAG = 32;

/** One flag's entry of an OFREP bulk answer, as JSON. */
export function bulkItem(flag: CompiledFlag, result: EvaluationResult): string {
  if (result.reason === 'ERROR') {
    const code = result.errorCode && OFREP_ERROR_CODES.has(result.errorCode) ? result.errorCode : 'GENERAL';
    return JSON.stringify({ key: flag.key, errorCode: code, errorDetails: result.errorMessage ?? 'evaluation failed' });
  }
  const value = result.value;
  const cacheable = result.metadata === undefined && (value === null || typeof value !== 'object');
  const id = cacheable ? `${result.variant}\u0000${result.reason}\u0000${result.ruleId ?? ''}\u0000${typeof value}\u0000${String(value)}` : '';
  let byResult = cacheable ? fragments.get(flag) : undefined;
  const cached = byResult?.get(id);
  if (cached !== undefined) return cached;
  const json = JSON.stringify({ key: flag.key, value, reason: result.reason, variant: result.variant, metadata: metadataOf(flag, result) });
  if (cacheable) {
    if (!byResult) fragments.set(flag, (byResult = new Map()));
    if (byResult.size >= MAX_FRAGMENTS_PER_FLAG) byResult.clear();
    byResult.set(id, json);
  }
  return json;
}

/**
 * How a bulk answer of one environment's flags is put together: the flags that answer every context
 * the same are rendered once, as runs of JSON between the flags that must be evaluated per request.
 */
export interface BulkPlan {
  /** Pre-rendered runs (strings, each a comma-separated list of items) and flags to evaluate, in key order. */
  readonly parts: ReadonlyArray<string | CompiledFlag>;
  /** The flags evaluated per request, in order. */
  readonly dynamic: readonly CompiledFlag[];
  /** The pre-rendered flags (each has a `constant` answer). */
  readonly constant: readonly CompiledFlag[];
  /** The same, as metrics count them: once per request. */
  readonly constants: ConstantGroup;
  /** A digest of the pre-rendered runs: the entity tag hashes it with the per-request items only. */
  readonly digest: string;
}

// Keyed by the snapshot's sorted array, which is rebuilt whenever a flag of the environment changes.
const plans = new WeakMap<readonly CompiledFlag[], BulkPlan>();

/** The plan of a bulk answer over `flags` (an environment's flags in key order), built once per change. */
export function bulkPlanOf(environment: string, flags: readonly CompiledFlag[]): BulkPlan {
  let plan = plans.get(flags);
  if (plan) return plan;
  const parts: Array<string | CompiledFlag> = [];
  const dynamic: CompiledFlag[] = [];
  const constant: CompiledFlag[] = [];
  let run: string[] = [];
  const hash = createHash('sha1');
  const endRun = () => {
    if (run.length === 0) return;
    const text = run.join(',');
    parts.push(text);
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

/**
 * A bulk answer's body (`{"flags":[...]` + `tail`) from a plan and the items of its dynamic flags (in
 * order), and its entity tag: a hash of the plan's digest, those items and the tail, so that it
 * changes exactly when the body does without hashing the pre-rendered runs again.
 */
export function renderBulk(plan: BulkPlan, items: readonly string[], tail: string): { body: string; etag: string } {
  let body = '{"flags":[';
  let next = 0;
  for (let i = 0; i < plan.parts.length; i++) {
    const part = plan.parts[i]!;
    if (i > 0) body += ',';
    body += typeof part === 'string' ? part : items[next++]!;
  }
  body += ']';
  body += tail;
  const etag = createHash('sha1').update(`${plan.digest}\n${items.join('\n')}\n${tail}`).digest('base64url');
  return { body, etag: `"${etag}"` };
}
