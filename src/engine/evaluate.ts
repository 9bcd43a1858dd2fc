import type { CompiledFlag, EvaluationContext, EvaluationResult, TraceStep } from './types.js';

/** Evaluates a compiled flag for a context at `now` (epoch ms); never throws. */
export function evaluate(flag: CompiledFlag, context: EvaluationContext, now: number): EvaluationResult {
  if (flag.constant) return flag.constant;
  try {
    return flag.run(context, now, undefined);
  } catch (error) {
    return failure(error);
  }
}

/** Evaluates like evaluate() and returns the trace of every check made on the way. */
export function explain(flag: CompiledFlag, context: EvaluationContext, now: number): { result: EvaluationResult; trace: TraceStep[] } {
  const trace: TraceStep[] = [];
  try {
    return { result: flag.run(context, now, trace), trace };
  } catch (error) {
    const result = failure(error);
    trace.push({ step: 'error', matched: true, message: result.errorMessage ?? 'evaluation failed' });
    return { result, trace };
  }
}

// The compiled closures guard every type; this only catches the unforeseen (e.g. a throwing getter in a context).
function failure(error: unknown): EvaluationResult {
  return { value: undefined, variant: 'error', reason: 'ERROR', errorCode: 'GENERAL', errorMessage: error instanceof Error ? error.message : String(error) };
}
