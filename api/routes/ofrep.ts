import { ofrepBulkEvaluationSchema, ofrepEvaluationSchema } from '../../src/protocol/evaluation-api.js';
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
import { lastEventIdOf, openEventStream, type EventStreamDeps } from '../event-stream.js';
import type { AuthFailureLimiter } from '../../src/serving/auth-failure-limiter.js';
import { OFREP_EVENT_STREAM_PATH, type OfrepStreamChannels } from '../../src/serving/ofrep-event-streams.js';

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
  return {
    header: (name) => req.get(name),
    body: Buffer.isBuffer(req.body) ? req.body : undefined,
    query: (name) => {
      const value = req.query[name];
      return typeof value === 'string' ? value : Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined;
    },
    address: req.ip ?? req.socket.remoteAddress ?? '',
  };
}

export function sendServing(res: Response, answer: ServingResponse): void {
  res.status(answer.status).set({ ...CORS_HEADERS, ...answer.headers });
  if (answer.body === undefined) res.end();
  else res.send(typeof answer.body === 'string' ? Buffer.from(answer.body) : answer.body);
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

export interface OfrepRouterDeps {
  endpoints: EvaluationEndpoints;
  /** The change stream bulk answers advertise (OFREP 0.3); its own hub speaks OFREP's notification format. */
  eventStream?: EventStreamDeps & { channels: OfrepStreamChannels; authFailures?: AuthFailureLimiter };
}

/**
 * OpenFeature Remote Evaluation Protocol 0.3 over Express: the evaluations (used when the node:http
 * fast path is off) and the change stream (always here). 0.3 removed `/ofrep/v1/configuration`;
 * it answers 404 like any unknown path.
 */
export function createOfrepRouter(deps: OfrepRouterDeps): Router {
  const { endpoints } = deps;
  const router = Router();
  router.options(['/ofrep/v1/evaluate/flags', '/ofrep/v1/evaluate/flags/:key', OFREP_EVENT_STREAM_PATH], (_req, res) => {
    res.status(204).set(CORS_PREFLIGHT_HEADERS).end();
  });
  defineRoute(router, '', {
    method: 'post', path: '/ofrep/v1/evaluate/flags/{key}', tag: 'Evaluation', summary: 'OFREP: evaluate one flag', auth: EVALUATION_AUTH,
    params: z.object({ key: flagKeySchema }), body: ofrepRequestSchema, headers: [ENVIRONMENT_HEADER],
    responses: {
      200: { description: 'OFREP {key, value, reason, variant, metadata}', schema: ofrepEvaluationSchema },
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
    query: z.object({
      flagConfigEtag: z.string().optional().meta({ description: 'the etag of the refetchEvaluation event that triggered this re-fetch: a replica that trails waits for that version' }),
      flagConfigLastModified: z.string().optional().meta({ description: 'the lastModified of that event (Unix seconds or ISO 8601); used without flagConfigEtag' }),
    }),
    responses: {
      200: { description: 'OFREP {flags: [...], eventStreams: [{type: "sse", endpoint: {requestUri}, inactivityDelaySec}]}', schema: ofrepBulkEvaluationSchema },
      304: { description: 'not modified' }, 400: { description: 'OFREP error', schema: ofrepErrorSchema },
      ...OFREP_REFUSALS,
    },
    errors: [],
  }, rawEvaluationBody(false), async (req, res) => {
    sendServing(res, await endpoints.ofrepBulk(servingRequest(req)));
  });
  const stream = deps.eventStream;
  if (stream) {
    defineRoute(router, '', {
      method: 'get', path: OFREP_EVENT_STREAM_PATH, tag: 'Evaluation',
      summary: 'OFREP 0.3 change stream: SSE `refetchEvaluation` notifications on any change to the environment (Last-Event-ID resumes)',
      auth: 'the `channel` of an `eventStreams` URL from a bulk evaluation (it stands for the token: keep the URL secret)',
      query: z.object({ channel: z.string().meta({ description: 'opaque credential from the bulk answer' }) }),
      headers: [{ name: 'Last-Event-ID', description: 'the last event id seen: a client that missed changes is told to re-fetch at once' }],
      responses: { 200: { description: 'text/event-stream' }, 401: { description: 'unknown or expired channel (no body, as in OFREP)' }, 429: OFREP_REFUSALS[429] },
      errors: [],
    }, async (req, res) => {
      const address = req.ip ?? '';
      res.set(CORS_HEADERS);
      const blockedFor = stream.authFailures?.retryAfter(address) ?? 0;
      if (blockedFor > 0) {
        res.status(429).set('retry-after', String(blockedFor)).end();
        return;
      }
      const channel = typeof req.query.channel === 'string' ? req.query.channel : '';
      const grant = channel ? await stream.channels.resolve(channel) : null;
      if (!grant) {
        stream.authFailures?.fail(address);
        // 401 without a body, as OFREP answers; EventSource gives up on it (the provider re-fetches and reconnects).
        res.status(401).end();
        return;
      }
      const { principal, environment } = grant;
      openEventStream(stream, req, res, [environment], lastEventIdOf(req), { key: principal.tokenId ?? 'anonymous', principal });
    });
  }
  return router;
}
