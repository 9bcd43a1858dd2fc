import { z } from 'zod';
import type { EvaluationContext, EvaluationResult } from '../engine/types.js';

/**
 * The evaluation answers (OFREP single and bulk, native bulk) as zod schemas, for the OpenAPI
 * document: the serving path writes them by hand for speed (src/serving/evaluation-endpoints.ts),
 * test/integration/response-schemas.test.ts checks real answers against these.
 */

const variantDescription = 'the name of the variant served (flagd-compatible; `on` / `off` for configs without declared variants)';
const metadataSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .meta({ description: 'version (the flag config\'s), ruleId when a rule matched, and what the rule adds' });

/** One flag evaluated over OFREP. */
export const ofrepEvaluationSchema = z
  .object({
    key: z.string(),
    value: z.unknown().meta({ description: 'the variant\'s value, of the flag\'s type' }),
    reason: z.string().meta({ description: 'STATIC, DEFAULT, TARGETING_MATCH, SPLIT, DISABLED, STALE…' }),
    variant: z.string().meta({ description: variantDescription }),
    metadata: metadataSchema,
  })
  .meta({ id: 'OfrepEvaluation' });

/** A flag of a bulk answer that could not be evaluated. */
const ofrepBulkErrorSchema = z.object({ key: z.string(), errorCode: z.string(), errorDetails: z.string() });

export const ofrepBulkEvaluationSchema = z
  .object({
    flags: z.array(z.union([ofrepEvaluationSchema, ofrepBulkErrorSchema])),
    eventStreams: z.array(z.object({
      type: z.literal('sse'),
      endpoint: z.object({ requestUri: z.string() }),
      inactivityDelaySec: z.number(),
    })).optional().meta({ description: 'OFREP 0.3 change streams: an SSE endpoint that says when to re-fetch (its URL is a credential)' }),
  })
  .meta({ id: 'OfrepBulkEvaluation' });

/** One flag of POST /api/v1/evaluate. */
const nativeEvaluationSchema = z.object({
  key: z.string(),
  value: z.unknown().meta({ description: 'the variant\'s value, null when the flag was not found' }),
  variant: z.string().nullable().meta({ description: `${variantDescription}; null when the flag was not found` }),
  reason: z.string(),
  version: z.number().int().optional(),
  rule_id: z.string().optional(),
  error_code: z.string().optional(),
  error_message: z.string().optional(),
  metadata: metadataSchema.optional(),
});

export const nativeBulkEvaluationSchema = z
  .object({ environment: z.string(), flags: z.array(nativeEvaluationSchema) })
  .meta({ id: 'NativeBulkEvaluation' });

/**
 * An /api/v1 evaluation context as the engine takes it: /api/v1 names the targeting key
 * `targeting_key` (OFREP and the engine say targetingKey); every other attribute is the caller's own.
 */
export function engineContext({ targeting_key: targetingKey, ...attributes }: { targeting_key?: unknown; [attribute: string]: unknown }): EvaluationContext {
  return { ...attributes, targetingKey: targetingKey as string | undefined };
}

/** An engine result as /api/v1 answers it (snake_case; OFREP keeps the engine's names). */
export function resultView({ ruleId, segmentId, errorCode, errorMessage, ...rest }: EvaluationResult) {
  return {
    ...rest,
    ...(ruleId !== undefined ? { rule_id: ruleId } : {}),
    ...(segmentId !== undefined ? { segment_id: segmentId } : {}),
    ...(errorCode !== undefined ? { error_code: errorCode } : {}),
    ...(errorMessage !== undefined ? { error_message: errorMessage } : {}),
  };
}
