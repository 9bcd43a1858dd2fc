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
import { environmentKeySchema, flagKeySchema } from '../schemas.js';

export const EVALUATION_AUTH = 'any token: client and server tokens evaluate in their environment; admin tokens choose it with X-Environment (default production)';
/** OFREP's error body; 401, 403 and 429 have none, as the protocol defines them. */
const ofrepErrorSchema = z.object({ key: z.string().optional(), errorCode: z.string(), errorDetails: z.string().optional() }).meta({ id: 'OfrepError' });
const OFREP_REFUSALS = {
  401: { description: 'no token, or an unknown or revoked one (no body, as in OFREP)' },
  403: { description: 'the token may not evaluate in this environment (no body, as in OFREP)' },
  413: { description: 'the body is larger than the limit (OFREP PARSE_ERROR)', schema: ofrepErrorSchema },
  429: { description: 'rate limited: Retry-After says when to try again (no body, as in OFREP)' },
};
const ENVIRONMENT_HEADER = { name: 'X-Environment', description: 'admin tokens: the environment to evaluate in (default production)', schema: environmentKeySchema };

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
      400: { description: 'OFREP {key, errorCode, errorDetails}: PARSE_ERROR, INVALID_CONTEXT, TARGETING_KEY_MISSING', schema: ofrepErrorSchema },
      404: { description: 'OFREP FLAG_NOT_FOUND', schema: ofrepErrorSchema },
      ...OFREP_REFUSALS,
    },
    errors: [],
  }, rawEvaluationBody(false), async (req, res) => {
    sendServing(res, await endpoints.ofrepFlag(String(req.params.key), servingRequest(req)));
  });
  defineRoute(router, '', {
    method: 'post', path: '/ofrep/v1/evaluate/flags', tag: 'Evaluation', summary: 'OFREP: evaluate every flag (ETag / If-None-Match → 304)', auth: EVALUATION_AUTH,
    body: ofrepRequestSchema, headers: [ENVIRONMENT_HEADER, { name: 'If-None-Match', description: 'the ETag of the last answer: 304 when unchanged' }],
    responses: { 200: { description: 'OFREP {flags: [...]}' }, 304: { description: 'not modified' }, 400: { description: 'OFREP error', schema: ofrepErrorSchema }, ...OFREP_REFUSALS },
    errors: [],
  }, rawEvaluationBody(false), async (req, res) => {
    sendServing(res, await endpoints.ofrepBulk(servingRequest(req)));
  });
  defineRoute(router, '', {
    method: 'get', path: '/ofrep/v1/configuration', tag: 'Evaluation', summary: 'OFREP provider configuration', auth: EVALUATION_AUTH,
    responses: { 200: { description: 'capabilities' }, 304: { description: 'not modified' }, 401: OFREP_REFUSALS[401], 403: OFREP_REFUSALS[403], 429: OFREP_REFUSALS[429] },
    errors: [],
  }, async (req, res) => {
    sendServing(res, await endpoints.ofrepConfiguration(servingRequest(req)));
  });
  return router;
}
