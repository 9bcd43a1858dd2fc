import { nativeBulkEvaluationSchema } from '../../src/protocol/evaluation-api.js';
import { Router } from 'express';
import { CORS_PREFLIGHT_HEADERS, nativeRequestSchema, type EvaluationEndpoints } from '../../src/serving/evaluation-endpoints.js';
import { defineRoute } from '../route-docs.js';
import { EVALUATION_AUTH, rawEvaluationBody, sendServing, servingRequest } from './ofrep.js';

/** `POST /api/v1/evaluate` over Express (the node:http fast path serves it when on). */
export function createEvaluateRouter(endpoints: EvaluationEndpoints): Router {
  const router = Router();
  router.options('/api/v1/evaluate', (_req, res) => {
    res.status(204).set(CORS_PREFLIGHT_HEADERS).end();
  });
  defineRoute(router, '', {
    method: 'post', path: '/api/v1/evaluate', tag: 'Evaluation', summary: 'Evaluate all (or the named) flags with reasons (ETag / If-None-Match → 304)', auth: EVALUATION_AUTH,
    body: nativeRequestSchema, headers: [{ name: 'X-Environment', description: 'admin tokens: the environment to evaluate in (default production)' }],
    responses: { 200: { description: 'results per flag, each with its variant', schema: nativeBulkEvaluationSchema }, 304: { description: 'not modified' } }, errors: [400, 401, 403, 404, 413, 429],
  }, rawEvaluationBody(true), async (req, res) => {
    sendServing(res, await endpoints.evaluate(servingRequest(req)));
  });
  return router;
}
