import type { Bucketing } from '../domain/bucketing.js';
import { BUCKETS, bucketerOf, needsBucket } from './bucketing.js';
import { allMatch, type CompiledCondition, type CompiledSegment } from './conditions.js';
import type { EvaluationContext, EvaluationResult, Evaluator, TraceStep } from './types.js';

/** Everything compileFlag resolved, in the shape the evaluator walks. */
export interface Plan {
  key: string;
  killed: boolean;
  enabled: boolean;
  /** The on and off variants: their values and names. */
  on: { value: unknown; variant: string };
  off: { value: unknown; variant: string };
  rules: ReadonlyArray<{
    id: string;
    conditions: readonly CompiledCondition[];
    /** All conditions at once. */
    matches: (context: EvaluationContext) => boolean;
    /** Bucket threshold of a percentage rule; -1 for other rules. */
    threshold: number;
    value: unknown;
    variant: string;
    result: EvaluationResult;
  }>;
  /** `inside` is what users of the segments inside the percentage get. */
  targeting: ReadonlyArray<{ id: string; threshold: number; inside: { value: unknown; variant: string }; segments: readonly CompiledSegment[] }>;
  rollout: { threshold: number; scheduled: boolean; start: number; end: number } | undefined;
  /** A weighted split: each slice's variant and the bucket its range ends before (cumulative, the last is BUCKETS). */
  split: ReadonlyArray<{ value: unknown; variant: string; end: number }> | undefined;
  /** How users are bucketed when not Ripcord's way (src/domain/bucketing.ts). */
  bucketing?: Bucketing | null;
  /** Answers that do not depend on the user, built once. */
  results: { killed: EvaluationResult; disabled: EvaluationResult; static: EvaluationResult; outsideWindow: EvaluationResult };
}

// Bucket states while evaluating one context: not computed yet, or no targeting key to compute it from.
const UNKNOWN = -1;
const NO_KEY = -2;

/** Bucket of the context for this flag, or NO_KEY when it has no (non-empty) targeting key. */
function bucketFor(bucketOf: (targetingKey: string) => number, context: EvaluationContext): number {
  const key = context.targetingKey;
  return typeof key === 'string' && key.length > 0 ? bucketOf(key) : NO_KEY;
}


/**
 * Whether a bucket lies inside a threshold: true/false, or undefined when it takes a bucket the
 * context cannot give.
 */
function inside(bucket: number, threshold: number): boolean | undefined {
  if (threshold <= 0) return false;
  if (threshold >= BUCKETS) return true;
  return bucket === NO_KEY ? undefined : bucket < threshold;
}

/** Renders a bucket comparison for the trace, e.g. `bucket 1342 < 5000 (5%)`. */
function compared(bucket: number, isInside: boolean, threshold: number): string {
  return bucket < 0 ? `${threshold / 1000}% needs no bucket` : `bucket ${bucket} ${isInside ? '<' : '>='} ${threshold} (${threshold / 1000}%)`;
}

function instant(now: number): string {
  const date = new Date(now);
  return Number.isNaN(date.getTime()) ? String(now) : date.toISOString();
}

/** The first segment of a targeting rule that the context is in, tracing each one checked. */
function firstMatch(segments: readonly CompiledSegment[], context: EvaluationContext, trace: TraceStep[] | undefined): CompiledSegment | undefined {
  for (let j = 0; j < segments.length; j++) {
    const s = segments[j]!;
    const matched = allMatch(s.conditions, s.test, context, s.kind === 'rule' ? trace : undefined, s.key);
    trace?.push({ step: 'segment', id: s.key, matched, message: s.kind === 'unknown' ? `segment '${s.key}' does not exist` : `segment '${s.key}' (${s.kind}) ${matched ? 'matched' : 'did not match'}` });
    if (matched) return s;
  }
  return undefined;
}

/** Builds the decision procedure of docs/architecture.md §5: kill switch, enabled, rules, targeting, rollout. */
export function buildEvaluator(plan: Plan): Evaluator {
  const { killed, enabled, on, off, rules, targeting, rollout, split, results } = plan;
  // A split with one slice of 100% needs no bucket: everyone gets it.
  const whole = split?.find((s, i) => s.end - (i === 0 ? 0 : split[i - 1]!.end) === BUCKETS);
  const bucketOfKey = bucketerOf(plan.key, plan.bucketing);

  const missingKey = (at: string, extra: Partial<EvaluationResult>, trace: TraceStep[] | undefined): EvaluationResult => {
    const message = `${at} needs a bucket but the context has no targetingKey`;
    trace?.push({ step: 'bucket', id: extra.ruleId ?? extra.segmentId, matched: false, message });
    return { value: off.value, variant: off.variant, reason: 'ERROR', ...extra, errorCode: 'TARGETING_KEY_MISSING', errorMessage: message };
  };
  // Results are built as literals of a fixed shape: cheaper than adding optional fields one by one.
  const ruleMatch = (value: unknown, variant: string, ruleId: string, bucket: number): EvaluationResult =>
    bucket >= 0 ? { value, variant, reason: 'TARGETING_MATCH', ruleId, bucket } : { value, variant, reason: 'TARGETING_MATCH', ruleId };
  const segmentMatch = (served: { value: unknown; variant: string }, isInside: boolean, segmentId: string, bucket: number): EvaluationResult => {
    const { value, variant } = isInside ? served : off;
    const reason = isInside ? 'SPLIT' : 'TARGETING_MATCH';
    return bucket >= 0 ? { value, variant, reason, segmentId, bucket } : { value, variant, reason, segmentId };
  };
  const rolloutResult = (isInside: boolean, bucket: number): EvaluationResult => {
    const { value, variant } = isInside ? on : off;
    const reason = isInside ? 'SPLIT' : 'DEFAULT';
    return bucket >= 0 ? { value, variant, reason, bucket } : { value, variant, reason };
  };

  return (context, now, trace) => {
    if (killed) {
      trace?.push({ step: 'kill_switch', matched: true, message: 'the kill switch is on: serving off_value' });
      return results.killed;
    }
    trace?.push({ step: 'kill_switch', matched: false, message: 'the kill switch is off' });
    if (!enabled) {
      trace?.push({ step: 'enabled', matched: false, message: 'the flag is disabled: serving off_value' });
      return results.disabled;
    }
    trace?.push({ step: 'enabled', matched: true, message: 'the flag is enabled' });

    let bucket = UNKNOWN;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (!allMatch(rule.conditions, rule.matches, context, trace, rule.id)) {
        trace?.push({ step: 'rule', id: rule.id, matched: false, message: `rule '${rule.id}': a condition did not match` });
        continue;
      }
      if (rule.threshold < 0) {
        trace?.push({ step: 'rule', id: rule.id, matched: true, message: `rule '${rule.id}' matched: serving ${rule.variant}` });
        return rule.result;
      }
      // The bucket is computed once, when a percentage first needs it, and reported only when it decided.
      const decisive = needsBucket(rule.threshold);
      if (decisive && bucket === UNKNOWN) bucket = bucketFor(bucketOfKey, context);
      const isInside = inside(bucket, rule.threshold);
      if (isInside === undefined) return missingKey(`percentage rule '${rule.id}'`, { ruleId: rule.id }, trace);
      trace?.push({ step: 'rule', id: rule.id, matched: isInside, message: `rule '${rule.id}': ${compared(decisive ? bucket : UNKNOWN, isInside, rule.threshold)}` });
      if (isInside) return ruleMatch(rule.value, rule.variant, rule.id, decisive ? bucket : UNKNOWN);
    }

    for (let i = 0; i < targeting.length; i++) {
      const target = targeting[i]!;
      const segment = firstMatch(target.segments, context, trace);
      if (!segment) {
        trace?.push({ step: 'targeting', id: target.id, matched: false, message: `targeting '${target.id}': no segment matched` });
        continue;
      }
      const decisive = needsBucket(target.threshold);
      if (decisive && bucket === UNKNOWN) bucket = bucketFor(bucketOfKey, context);
      const isInside = inside(bucket, target.threshold);
      if (isInside === undefined) return missingKey(`targeting '${target.id}'`, { segmentId: segment.key }, trace);
      const shown = decisive ? bucket : UNKNOWN;
      trace?.push({ step: 'targeting', id: target.id, matched: true, message: `targeting '${target.id}' via segment '${segment.key}': ${compared(shown, isInside, target.threshold)}` });
      return segmentMatch(target.inside, isInside, segment.key, shown);
    }

    if (split) {
      if (whole) {
        trace?.push({ step: 'split', matched: true, message: `split: '${whole.variant}' has 100% (needs no bucket)` });
        return { value: whole.value, variant: whole.variant, reason: 'SPLIT' };
      }
      if (bucket === UNKNOWN) bucket = bucketFor(bucketOfKey, context);
      if (bucket === NO_KEY) return missingKey('the split', {}, trace);
      let slice = split[split.length - 1]!;
      for (let i = 0; i < split.length; i++) {
        if (bucket < split[i]!.end) {
          slice = split[i]!;
          break;
        }
      }
      trace?.push({ step: 'split', matched: true, message: `split: bucket ${bucket} falls in '${slice.variant}' (ends before ${slice.end})` });
      return { value: slice.value, variant: slice.variant, reason: 'SPLIT', bucket };
    }

    if (!rollout) {
      trace?.push({ step: 'rollout', matched: true, message: 'no rollout: serving value' });
      return results.static;
    }
    // Written as "not inside" so that an invalid clock (NaN) counts as outside the window.
    if (rollout.scheduled && !(now >= rollout.start && now < rollout.end)) {
      trace?.push({ step: 'schedule', matched: false, message: `now (${instant(now)}) is outside the scheduled window` });
      return results.outsideWindow;
    }
    if (rollout.scheduled) trace?.push({ step: 'schedule', matched: true, message: 'now is inside the scheduled window' });
    const decisive = needsBucket(rollout.threshold);
    if (decisive && bucket === UNKNOWN) bucket = bucketFor(bucketOfKey, context);
    const isInside = inside(bucket, rollout.threshold);
    if (isInside === undefined) return missingKey('the rollout', {}, trace);
    const shown = decisive ? bucket : UNKNOWN;
    trace?.push({ step: 'rollout', matched: isInside, message: `rollout: ${compared(shown, isInside, rollout.threshold)}` });
    return rolloutResult(isInside, shown);
  };
}
