import { Router } from 'express';
import { z } from 'zod';
import { documentRoute, routeDocs, type RouteDoc } from '../route-docs.js';
import { environmentKeySchema, errorSchema, flagKeySchema } from '../schemas.js';
import { flagMetricsSchemas } from './flag-metrics.js';
import { killSwitchStateSchema } from './kill-switch.js';

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid input: `details` lists each bad field as {path, message} (body.x, query.y, params.z, headers.w)',
  401: 'No token, or an unknown or revoked one',
  403: 'The token or role may not do this (the message says what is missing)',
  404: 'No such resource',
  409: 'Conflicts with the current state (duplicate key, archived flag, segment in use — the flags are named)',
  412: 'If-Match (or `version`) is stale; `details.currentVersion` is the current one',
  413: 'The body is too large',
  415: 'Unsupported content type or encoding',
  503: 'A store is unavailable; nothing was changed',
};

const PUBLIC = 'public (no token)';

/** Routes other modules own, described here so the document lists every route. */
function documentOtherRoutes(): void {
  const flagEnv = z.object({ key: flagKeySchema, env: environmentKeySchema });
  const evaluationContext = z.object({ context: z.record(z.string(), z.unknown()).optional().meta({ description: 'OpenFeature context: targetingKey and attributes' }) });
  const ofrepAuth = 'any token: client and server tokens evaluate in their environment; admin tokens choose it with X-Environment (default production)';
  const killBody = z.strictObject({ reason: z.string().trim().min(1).max(500) });
  const killOutcome = z.object({
    flag: z.string(), environment: z.string(), version: z.number().int(), kill_switch: z.record(z.string(), z.unknown()),
    changed: z.boolean(), already_active: z.boolean(), projected: z.boolean(),
    workflow: z.object({ id: z.string(), url: z.string(), status: z.enum(['started', 'pending', 'none']) }),
  });
  const docs: RouteDoc[] = [
    { method: 'get', path: '/healthz', tag: 'Operations', summary: 'Liveness', auth: PUBLIC, responses: { 200: { description: 'alive' } }, errors: [] },
    { method: 'get', path: '/readyz', tag: 'Operations', summary: 'Readiness per dependency (Postgres, Redis, Temporal, snapshot)', auth: PUBLIC, responses: { 200: { description: 'ready' }, 503: { description: 'not ready, with per-check detail' } }, errors: [] },
    { method: 'get', path: '/metrics', tag: 'Operations', summary: 'Prometheus metrics', auth: PUBLIC, responses: { 200: { description: 'Prometheus text format' } }, errors: [] },
    { method: 'get', path: '/openapi.json', tag: 'Operations', summary: 'This document', auth: PUBLIC, responses: { 200: { description: 'OpenAPI 3.1' } }, errors: [] },
    {
      method: 'post', path: '/ofrep/v1/evaluate/flags/{key}', tag: 'Evaluation', summary: 'OFREP: evaluate one flag', auth: ofrepAuth,
      params: z.object({ key: z.string() }), body: evaluationContext,
      responses: { 200: { description: 'OFREP {key, value, reason, variant, metadata}' }, 400: { description: 'OFREP {key, errorCode, errorDetails}: PARSE_ERROR, INVALID_CONTEXT, TARGETING_KEY_MISSING' }, 404: { description: 'OFREP FLAG_NOT_FOUND' } },
      errors: [401],
    },
    {
      method: 'post', path: '/ofrep/v1/evaluate/flags', tag: 'Evaluation', summary: 'OFREP: evaluate every flag (ETag / If-None-Match → 304)', auth: ofrepAuth,
      body: evaluationContext, responses: { 200: { description: 'OFREP {flags: [...]}' }, 304: { description: 'not modified' }, 400: { description: 'OFREP error' } }, errors: [401],
    },
    { method: 'get', path: '/ofrep/v1/configuration', tag: 'Evaluation', summary: 'OFREP provider configuration', auth: ofrepAuth, responses: { 200: { description: 'capabilities' } }, errors: [401] },
    {
      method: 'post', path: '/api/v1/evaluate', tag: 'Evaluation', summary: 'Evaluate all (or the named) flags with reasons', auth: ofrepAuth,
      body: evaluationContext.extend({ flags: z.array(z.string()).optional() }), responses: { 200: { description: 'results per flag' } }, errors: [400, 401],
    },
    { method: 'get', path: '/api/v1/stream', tag: 'Evaluation', summary: 'Server-Sent Events of flag changes in the token environment (Last-Event-ID resumes)', auth: 'client, server or admin token', responses: { 200: { description: 'text/event-stream' } }, errors: [401, 403] },
    {
      method: 'post', path: '/api/v1/flags/{key}/environments/{env}/kill-switch', tag: 'Kill switch', summary: 'Pull the kill switch: the flag serves its off value at once',
      auth: 'admin, emergency_responder, or a flag:kill_switch grant for the environment and tags', params: flagEnv, body: killBody,
      headers: [{ name: 'Idempotency-Key', description: 'makes a retried request one kill' }],
      responses: { 201: { description: 'killed; the workflow carries the rest', schema: killOutcome }, 200: { description: 'already killed, or a retry', schema: killOutcome } },
      errors: [400, 401, 403, 404, 413, 415],
    },
    {
      method: 'get', path: '/api/v1/flags/{key}/environments/{env}/kill-switch', tag: 'Kill switch',
      summary: 'The kill switch, its last kill or release, and which live replicas acknowledge serving it ("confirmed on 3/3 replicas in 12 ms", or the laggards)',
      auth: 'users with flag:read', params: flagEnv,
      responses: { 200: { description: 'the kill switch with its confirmation', schema: killSwitchStateSchema } }, errors: [400, 401, 403, 404],
    },
    {
      method: 'delete', path: '/api/v1/flags/{key}/environments/{env}/kill-switch', tag: 'Kill switch', summary: 'Release the kill switch',
      auth: 'admin, emergency_responder, or a flag:kill_switch grant for the environment and tags', params: flagEnv,
      body: z.strictObject({ reason: z.string().trim().max(500).optional() }).optional(),
      responses: { 200: { description: 'released', schema: killOutcome } }, errors: [400, 401, 403, 404, 409],
    },
    { method: 'get', path: '/api/v1/flags/{key}/metrics', tag: 'Flags', summary: 'Per-flag evaluation metrics', auth: 'any user or server token', params: flagMetricsSchemas.paramsSchema, query: flagMetricsSchemas.querySchema, responses: { 200: { description: 'counts, latency, cache hit rate, last evaluation' } }, errors: [400, 401, 403, 404] },
    { method: 'post', path: '/api/v1/flags/{key}/environments/{env}/rollouts', tag: 'Rollouts', summary: 'Start a rollout (a Temporal workflow)', auth: 'editor, admin', params: flagEnv, body: z.object({ plan: z.unknown() }), responses: { 201: { description: 'the rollout' } }, errors: [400, 401, 403, 404, 409] },
    { method: 'get', path: '/api/v1/flags/{key}/environments/{env}/rollouts', tag: 'Rollouts', summary: 'Rollouts of the flag with live progress', auth: 'any user', params: flagEnv, responses: { 200: { description: 'rollouts' } }, errors: [400, 401, 403, 404] },
    {
      method: 'post', path: '/api/v1/flags/{key}/environments/{env}/rollouts/current/{action}', tag: 'Rollouts', summary: 'Pause, resume, abort, skip or approve the running rollout', auth: 'editor, admin',
      params: flagEnv.extend({ action: z.enum(['pause', 'resume', 'abort', 'skip', 'approve']) }), body: z.record(z.string(), z.unknown()).optional(),
      responses: { 200: { description: 'the rollout' } }, errors: [400, 401, 403, 404, 409],
    },
    {
      method: 'post', path: '/api/v1/flags/{key}/environments/{env}/scheduled-changes', tag: 'Scheduled changes', summary: 'Schedule a config change at a time (a Temporal workflow)',
      auth: 'editor, admin', params: flagEnv, body: z.record(z.string(), z.unknown()), responses: { 201: { description: 'the scheduled change' } }, errors: [400, 401, 403, 404, 409],
    },
    { method: 'get', path: '/api/v1/flags/{key}/environments/{env}/scheduled-changes', tag: 'Scheduled changes', summary: 'Scheduled changes of the flag', auth: 'any user', params: flagEnv, responses: { 200: { description: 'scheduled changes' } }, errors: [400, 401, 403, 404] },
    {
      method: 'delete', path: '/api/v1/flags/{key}/environments/{env}/scheduled-changes/{id}', tag: 'Scheduled changes', summary: 'Cancel a scheduled change', auth: 'editor, admin',
      params: flagEnv.extend({ id: z.uuid() }), responses: { 200: { description: 'cancelled' } }, errors: [400, 401, 403, 404, 409],
    },
    {
      method: 'post', path: '/api/v1/flags/{key}/environments/{env}/explain', tag: 'Evaluation', summary: 'Evaluate with a step-by-step trace of why',
      auth: 'flag:read on the environment and tags', params: flagEnv, body: z.object({ context: z.record(z.string(), z.unknown()).optional(), at: z.string().optional() }),
      responses: { 200: { description: 'the result and its trace' } }, errors: [400, 401, 403, 404],
    },
    { method: 'post', path: '/api/v1/events', tag: 'Evaluation', summary: 'Report outcomes (flag, variant, success or error) for rollout guards', auth: 'any token', body: z.object({ environment: z.string().optional(), events: z.array(z.unknown()) }), responses: { 202: { description: 'accepted' } }, errors: [400, 401, 413, 415] },
  ];
  for (const doc of docs) documentRoute(doc);
}

type JsonSchema = Record<string, unknown>;

/** Converts every schema the docs use into components, with refs that resolve inside this document. */
function componentsFor(schemas: Map<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of schemas) registry.add(schema, { id });
  const { schemas: converted } = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, io, unrepresentable: 'any' }) as { schemas: Record<string, JsonSchema> };
  const shared = (converted.__shared?.$defs ?? {}) as Record<string, JsonSchema>;
  delete converted.__shared;
  const all = { ...converted, ...Object.fromEntries(Object.entries(shared).map(([k, v]) => [`${io}_${k}`, v])) };
  for (const schema of Object.values(all)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return JSON.parse(
    JSON.stringify(all)
      .replaceAll('"#/components/schemas/__shared#/$defs/', `"#/components/schemas/${io}_`)
      .replaceAll('"#/$defs/', `"#/components/schemas/${io}_`),
  );
}

const operationId = (doc: RouteDoc) =>
  `${doc.method}${doc.path.replace(/^\/api\/v1/, '').split(/[/{}.-]+/).filter(Boolean).map((p) => p[0]!.toUpperCase() + p.slice(1)).join('')}`;

/** Builds the OpenAPI 3.1 document from the route docs; every schema comes from the zod schemas the routes parse with. */
export function buildOpenApiDocument(): JsonSchema {
  const inputs = new Map<string, z.ZodType>();
  const outputs = new Map<string, z.ZodType>([['Error', errorSchema]]);
  const paths: Record<string, Record<string, unknown>> = {};
  const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

  for (const doc of routeDocs()) {
    const id = operationId(doc);
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', doc.params], ['query', doc.query]] as const) {
      for (const [name, field] of Object.entries(schema?.shape ?? {})) {
        const paramId = `${id}_${where}_${name}`;
        inputs.set(paramId, field as z.ZodType);
        parameters.push({ name, in: where, required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success, schema: ref(paramId) });
      }
    }
    for (const header of doc.headers ?? []) parameters.push({ name: header.name, in: 'header', required: header.required ?? false, description: header.description, schema: { type: 'string' } });

    let requestBody: unknown;
    if (doc.body) {
      inputs.set(`${id}_body`, doc.body);
      const content: Record<string, unknown> = { 'application/json': { schema: ref(`${id}_body`) } };
      for (const type of doc.bodyContentTypes ?? []) content[type] = { schema: { type: 'string', description: 'one member per line' } };
      requestBody = { required: !doc.body.safeParse(undefined).success, content };
    }

    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(doc.responses)) {
      if (response.schema) outputs.set(`${id}_${status}`, response.schema);
      responses[status] = { description: response.description, ...(response.schema ? { content: { 'application/json': { schema: ref(`${id}_${status}`) } } } : {}) };
    }
    for (const status of doc.errors) responses[String(status)] = { description: STATUS_TEXT[status] ?? 'error', content: { 'application/json': { schema: ref('Error') } } };
    if (doc.auth !== PUBLIC) responses['503'] ??= { description: STATUS_TEXT[503], content: { 'application/json': { schema: ref('Error') } } };

    (paths[doc.path] ??= {})[doc.method] = {
      operationId: id,
      summary: doc.summary,
      tags: [doc.tag],
      description: `**Who:** ${doc.auth}`,
      'x-ripcord-auth': doc.auth,
      security: doc.auth === PUBLIC ? [] : [{ bearer: [] }, { apiKey: [] }],
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Ripcord',
      version: '1',
      description: 'Feature flags with a kill switch and durable rollouts. Errors are {error: {code, message, details}}; OFREP routes answer in OFREP\'s shapes.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { apiKey: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'rc_client_…, rc_server_… or rc_admin_… (or the bootstrap RIPCORD_ADMIN_TOKEN)' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
      schemas: { ...componentsFor(inputs, 'input'), ...componentsFor(outputs, 'output') },
    },
  };
}

/** Serves the OpenAPI document at /openapi.json (built once, after every router registered its routes). */
export function createOpenApiRouter(): Router {
  documentOtherRoutes();
  const router = Router();
  let document: JsonSchema | undefined;
  router.get('/openapi.json', (_req, res) => {
    document ??= buildOpenApiDocument();
    res.json(document);
  });
  return router;
}
