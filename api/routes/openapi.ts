import { Router } from 'express';
import { z } from 'zod';
import { defineRoute, PUBLIC, routeDocs, type RouteDoc } from '../route-docs.js';
import { errorSchema } from '../schemas.js';

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid input: `details` lists each bad field as {path, message} (body.x, query.y, params.z, headers.w)',
  401: 'No token, or an unknown or revoked one',
  403: 'The token or role may not do this (the message says what is missing)',
  404: 'No such resource',
  409: 'Conflicts with the current state (duplicate key, archived flag, segment in use — the flags are named)',
  412: 'If-Match (or `version`) is stale; `details.current_version` is the current one',
  413: 'The body is too large',
  415: 'Unsupported content type or encoding',
  503: 'A store is unavailable; nothing was changed',
};

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
export function buildOpenApiDocument(docs: RouteDoc[] = routeDocs()): JsonSchema {
  const inputs = new Map<string, z.ZodType>();
  const outputs = new Map<string, z.ZodType>([['Error', errorSchema]]);
  const paths: Record<string, Record<string, unknown>> = {};
  const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

  for (const doc of docs) {
    const id = operationId(doc);
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', doc.params], ['query', doc.query]] as const) {
      for (const [name, field] of Object.entries(schema?.shape ?? {})) {
        const paramId = `${id}_${where}_${name}`;
        inputs.set(paramId, field as z.ZodType);
        parameters.push({ name, in: where, required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success, schema: ref(paramId) });
      }
    }
    for (const header of doc.headers ?? []) {
      const headerId = `${id}_header_${header.name}`;
      if (header.schema) inputs.set(headerId, header.schema);
      parameters.push({ name: header.name, in: 'header', required: header.required ?? false, description: header.description, schema: header.schema ? ref(headerId) : { type: 'string' } });
    }

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
      security: doc.auth === PUBLIC ? [] : [{ bearer: [] }, { apiKey: [] }, { session: [] }],
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
    security: [{ bearer: [] }, { apiKey: [] }, { session: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'rc_client_…, rc_server_… or rc_admin_… (or the bootstrap RIPCORD_ADMIN_TOKEN)' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        session: {
          type: 'apiKey', in: 'cookie', name: 'ripcord_session',
          description: 'The admin UI\'s sign-in session (single sign-on; `__Host-ripcord_session` over https). It acts as its user; every write also needs the X-CSRF-Token header from GET /api/v1/sso/session.',
        },
      },
      schemas: { ...componentsFor(inputs, 'input'), ...componentsFor(outputs, 'output') },
    },
  };
}

/** Serves the OpenAPI document at /openapi.json (built once, after every router registered its routes). */
/** GET /openapi.json: the document of `docs()` (the app's own routes, read at the first request). */
export function createOpenApiRouter(docs: () => RouteDoc[] = routeDocs): Router {
  const router = Router();
  let document: JsonSchema | undefined;
  defineRoute(router, '', {
    method: 'get', path: '/openapi.json', tag: 'Operations', summary: 'This document', auth: PUBLIC, responses: { 200: { description: 'OpenAPI 3.1' } }, errors: [],
  }, (_req, res) => {
    document ??= buildOpenApiDocument(docs());
    res.json(document);
  });
  return router;
}
