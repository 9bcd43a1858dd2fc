import { Router } from 'express';
import { z } from 'zod';
import type { FlagSnapshot } from '../../src/cache/flag-snapshot.js';
import { explain } from '../../src/engine/index.js';
import { NotFoundError } from '../../src/errors.js';
import { explainAnswerSchema, type ExplainAnswer } from '../../src/protocol/admin-api.js';
import { engineContext, resultView } from '../../src/protocol/evaluation-api.js';
import { authorizeFlag, type FlagTags } from '../auth.js';
import { parseInput } from '../validation.js';
import { jsonObjectSchema } from '../schemas.js';
import { FLAG_READ, flagEnvParams } from './flags.js';
import { defineRoute } from '../route-docs.js';

const explainBody = z.strictObject({
  context: jsonObjectSchema.refine((c) => c.targeting_key === undefined || typeof c.targeting_key === 'string', {
    message: 'targeting_key must be a string',
    path: ['targeting_key'],
  }),
  /** Evaluate as of this time (ISO 8601), e.g. to check a scheduled window; default now. */
  at: z.iso.datetime({ offset: true }).optional(),
});

/** "Evaluate as…": the result and the trace of which rule or segment matched, which failed and why. */
export function createExplainRouter(snapshot: FlagSnapshot, flags: FlagTags): Router {
  const router = Router();
  defineRoute(router, '/api/v1', {
    method: 'post', path: '/api/v1/flags/{key}/environments/{env}/explain', tag: 'Evaluation', summary: 'Evaluate as…: result and trace for a context',
    auth: FLAG_READ, params: flagEnvParams, body: explainBody, responses: { 200: { description: 'the result and its trace', schema: explainAnswerSchema } }, errors: [400, 401, 403, 404, 413, 415],
  }, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    await authorizeFlag(res, flags, key, env, 'read');
    const body = parseInput(explainBody, req.body, 'body');
    const flag = snapshot.get(env, key);
    if (!flag) throw new NotFoundError(`Flag '${key}' is not served in environment '${env}'`);
    const now = body.at ? Date.parse(body.at) : Date.now();
    const { result, trace } = explain(flag, engineContext(body.context), now);
    res.json({ flag: key, environment: env, version: flag.version, at: new Date(now).toISOString(), result: resultView(result), trace } satisfies ExplainAnswer);
  });
  return router;
}
