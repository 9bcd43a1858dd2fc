export { bucketOf } from './bucketing.js';
export { compileFlag } from './compile.js';
export { evaluate, explain } from './evaluate.js';
export type { CompiledFlag, ErrorCode, EvaluationContext, EvaluationResult, Reason, TraceStep } from './types.js';
