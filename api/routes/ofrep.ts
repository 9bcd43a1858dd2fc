import express, { Router, type NextFunction, type Request, type Response } from 'express';
import {
  CORS_HEADERS,
  CORS_PREFLIGHT_HEADERS,
  MAX_EVALUATION_BODY_BYTES,
  type EvaluationEndpoints,
  type ServingRequest,
  ofrepRequestSchema,
  type ServingResponse,
} from '../../src/serving/evaluation-endpoints.js';
import { z } from 'zod';
import { defineRoute } from '../route-docs.js';
import { flagKeySchema } from '../schemas.js';

export const EVALUATION_AUTH = 'any token: client and server tokens evaluate in their environment; admin tokens choose it with X-Environment (default production)';
const ENVIRONMENT_HEADER = { name: 'X-Environment', description: 'admin tokens: the environment to evaluate in (default production)' };

// Bodies are read raw (JSON whatever the Content-Type says) and parsed by the endpoints, so that
// Express and the node:http fast path answer byte for byte the same.
const rawBody = express.raw({ limit: MAX_EVALUATION_BODY_BYTES, type: () => true });

/** Adapts an Express request to the server-independent endpoints. */
export function servingRequest(req: Request): ServingRequest {
  return { header: (name) => req.get(name), body: Buffer.isBuffer(req.body) ? req.body : undefined, address: req.ip ?? req.socket.remoteAddress ?? '' };
}

export function sendServing(res: Response, answer: ServingResponse): void {
  res.status(answer.status).set({ ...CORS_HEADERS, ...answer.headers });
  if (answer.body === undefined) res.end();
  else res.send(Buffer.from(answer.body));
}

/** Reads the raw body; an oversized one is 413 in the caller's error shape, never 500. */
export function rawEvaluationBody(native: boolean) {
  return (req: Request, res: Response, next: NextFunction) => {
    rawBody(req, res, (error?: unknown) => {
      if (!error) return next();
      const tooLarge = (error as { type?: string }).type === 'entity.too.large';
      const status = tooLarge ? 413 : 400;
      const message = tooLarge ? `The request body is larger than ${MAX_EVALUATION_BODY_BYTES} bytes` : 'The request body could not be read';
      res.status(status).set(CORS_HEADERS);
      res.json(native ? { error: { code: tooLarge ? 'PAYLOAD_TOO_LARGE' : 'PARSE_ERROR', message } } : { errorCode: 'PARSE_ERROR', errorDetails: message });
    });
  };
}

/** OpenFeature Remote Evaluation Protocol over Express (used when the node:http fast path is off). */
export function createOfrepRouter(endpoints: EvaluationEndpoints): Router {
  const router = Router();
  router.options(['/ofrep/v1/evaluate/flags', '/ofrep/v1/evaluate/flags/:key', '/ofrep/v1/configuration'], (_req, res) => {
    res.status(204).set(CORS_PREFLIGHT_HEADERS).end();
  });
  defineRoute(router, '', {
    method: 'post', path: '/ofrep/v1/evaluate/flags/{key}', tag: 'Evaluation', summary: 'OFREP: evaluate one flag', auth: EVALUATION_AUTH,
    params: z.object({ key: flagKeySchema }), body: ofrepRequestSchema, headers: [ENVIRONMENT_HEADER],
    responses: {
      200: { description: 'OFREP {key, value, reason, variant, metadata}' },
      400: { description: 'OFREP {key, errorCode, errorDetails}: PARSE_ERROR, INVALID_CONTEXT, TARGETING_KEY_MISSING' },
      404: { description: 'OFREP FLAG_NOT_FOUND' },
    },
    errors: [401, 403, 413],
  }, rawEvaluationBody(false), async (req, res) => {
    sendServing(res, await endpoints.ofrepFlag(String(req.params.key), servingRequest(req)));
  });
  defineRoute(router, '', {
    method: 'post', path: '/ofrep/v1/evaluate/flags', tag: 'Evaluation', summary: 'OFREP: evaluate every flag (ETag / If-None-Match → 304)', auth: EVALUATION_AUTH,
    body: ofrepRequestSchema, headers: [ENVIRONMENT_HEADER, { name: 'If-None-Match', description: 'the ETag of the last answer: 304 when unchanged' }],
    responses: { 200: { description: 'OFREP {flags: [...]}' }, 304: { description: 'not modified' }, 400: { description: 'OFREP error' } }, errors: [401, 403, 413],
  }, rawEvaluationBody(false), async (req, res) => {
    sendServing(res, await endpoints.ofrepBulk(servingRequest(req)));
  });
  defineRoute(router, '', {
    method: 'get', path: '/ofrep/v1/configuration', tag: 'Evaluation', summary: 'OFREP provider configuration', auth: EVALUATION_AUTH,
    responses: { 200: { description: 'capabilities' } }, errors: [401],
  }, async (req, res) => {
    sendServing(res, await endpoints.ofrepConfiguration(servingRequest(req)));
  });
  return router;
}
