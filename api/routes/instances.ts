import express, { Router } from 'express';
import { z } from 'zod';
import { CORS_PREFLIGHT_HEADERS, DEFAULT_ENVIRONMENT, type ServingRequest, type ServingResponse } from '../../src/serving/evaluation-endpoints.js';
import type { InstanceDirectory } from '../../src/serving/instance-directory.js';
import { instanceReportAnswerSchema, instanceReportRequestSchema, MAX_INSTANCE_REPORT_BYTES } from '../../src/serving/instance-reports.js';
import { fleetSchema } from '../../src/protocol/instances-api.js';
import { authorize } from '../auth.js';
import { parseInput } from '../validation.js';
import { defineRoute } from '../route-docs.js';
import { environmentKeySchema } from '../schemas.js';
import { sendServing, servingRequest } from './ofrep.js';

// Read raw whatever the Content-Type, and parsed by the endpoint, so Express and the fast path answer alike.
const rawBody = express.raw({ limit: MAX_INSTANCE_REPORT_BYTES, type: () => true });

const REPORT_PATH = '/api/v1/instances/report';

const listQuery = z.object({
  environment: environmentKeySchema.default(DEFAULT_ENVIRONMENT),
  limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
}).strict();

/**
 * `POST /api/v1/instances/report` over Express (the node:http fast path serves it when on): SDK
 * instances (Node SDK, browser client) say which environment version they serve. Mounted outside
 * /api/v1's router for CORS (browsers send it).
 */
export function createInstanceReportRouter(report: (request: ServingRequest) => ServingResponse | Promise<ServingResponse>): Router {
  const router = Router();
  router.options(REPORT_PATH, (_req, res) => {
    res.status(204).set(CORS_PREFLIGHT_HEADERS).end();
  });
  defineRoute(router, '', {
    method: 'post', path: REPORT_PATH, tag: 'Evaluation',
    summary: 'An SDK instance reports the environment version it serves (after every change it applies, and as a heartbeat); instances of one process may send their reports together',
    auth: 'client or server token (its environment), or a user with flag:read in the environment', body: instanceReportRequestSchema,
    responses: { 200: { description: 'counted', schema: instanceReportAnswerSchema } }, errors: [400, 401, 403, 413, 429],
  }, rawBody, async (req, res) => {
    sendServing(res, await report(servingRequest(req)));
  });
  return router;
}

/** `GET /api/v1/instances`: the SDK instances of an environment across every replica, laggards first. */
export function createInstancesRouter(directory: InstanceDirectory): Router {
  const router = Router();
  defineRoute(router, '/api/v1', {
    method: 'get', path: '/api/v1/instances', tag: 'Evaluation',
    summary: 'The SDK instances connected to the environment (every replica), laggards first: what each holds and how far behind it is',
    auth: 'users with environment:read', query: listQuery,
    responses: { 200: { description: 'the fleet', schema: fleetSchema } }, errors: [400, 401, 403],
  }, async (req, res) => {
    const { environment, limit } = parseInput(listQuery, req.query, 'query');
    authorize(res, { resource: 'environment', action: 'read', environment });
    res.json(await directory.list(environment, limit));
  });
  return router;
}
