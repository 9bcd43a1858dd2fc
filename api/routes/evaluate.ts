import { Router } from 'express';
import { CORS_PREFLIGHT_HEADERS, type EvaluationEndpoints } from '../../src/serving/evaluation-endpoints.js';
import { rawEvaluationBody, sendServing, servingRequest } from './ofrep.js';

/** `POST /api/v1/evaluate` over Express (the node:http fast path serves it when on). */
export function createEvaluateRouter(endpoints: EvaluationEndpoints): Router {
  const router = Router();
  router.options('/api/v1/evaluate', (_req, res) => {
    res.status(204).set(CORS_PREFLIGHT_HEADERS).end();
  });
  router.post('/api/v1/evaluate', rawEvaluationBody(true), async (req, res) => {
    sendServing(res, await endpoints.evaluate(servingRequest(req)));
  });
  return router;
}
