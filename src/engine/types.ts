import type { FlagType } from '../domain/flag.js';

/** OFREP's evaluation context: a targeting key and any attributes. */
export type EvaluationContext = { targetingKey?: string; [k: string]: unknown };

// STALE is only ever set by a serving replica that can't vouch for its snapshot, never by the engine.
export type Reason = 'STATIC' | 'DEFAULT' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'STALE' | 'ERROR';
export type ErrorCode = 'TARGETING_KEY_MISSING' | 'PARSE_ERROR' | 'TYPE_MISMATCH' | 'GENERAL';

/** The answer for one flag and one context, with OpenFeature's reasons. Read-only: answers that do not depend on the user are shared (frozen). */
export type EvaluationResult = {
  value: unknown;
  variant: string;
  reason: Reason;
  ruleId?: string;
  segmentId?: string;
  bucket?: number;
  errorCode?: ErrorCode;
  errorMessage?: string;
  metadata?: Record<string, string | number | boolean>;
};

/** One step of an explanation: what was checked, whether it matched, and why. */
export type TraceStep = {
  step: 'kill_switch' | 'enabled' | 'rule' | 'condition' | 'targeting' | 'segment' | 'schedule' | 'rollout' | 'split' | 'bucket' | 'error';
  id?: string;
  matched: boolean;
  message: string;
};

/** Evaluates a compiled flag; records trace steps when a trace array is given. */
export type Evaluator = (context: EvaluationContext, now: number, trace: TraceStep[] | undefined) => EvaluationResult;

/** A flag compiled once per change: evaluation parses nothing. */
export interface CompiledFlag {
  readonly key: string;
  readonly type: FlagType;
  readonly version: number;
  readonly environment: string;
  /** Set when the stored config was invalid: every evaluation answers ERROR. */
  readonly compileError?: string;
  /** The config's off variant (served when disabled or killed): what metrics count as not enabled. */
  readonly offVariant: string;
  /** The answer when it is the same for every context at any time (killed, disabled, static…): evaluate() returns it. */
  readonly constant?: EvaluationResult;
  /** @internal The compiled decision procedure; call evaluate() or explain() instead. */
  readonly run: Evaluator;
}
