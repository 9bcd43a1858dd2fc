/**
 * Renders docs/api.md from the OpenAPI document the API serves at /openapi.json (itself built from
 * the zod schemas the routes parse with): every operation by tag, who may call it, its parameters,
 * its body's fields and its answers. test/integration/openapi.test.ts fails when the committed file
 * drifts; `npm run docs:generate` rewrites it.
 */
import { tableCell } from './markdown-table.js';
type Json = Record<string, unknown>;

interface Operation {
  operationId: string;
  summary?: string;
  tags?: string[];
  'x-ripcord-auth'?: string;
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: Json }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Json }> };
  responses?: Record<string, { description?: string }>;
}


/** Follows a local $ref such as #/components/schemas/input_postFlags_body. */
function deref(doc: Json, schema: Json | undefined): Json | undefined {
  let node = schema;
  for (let hops = 0; node && typeof node.$ref === 'string' && hops < 20; hops++) {
    node = (node.$ref as string).slice(2).split('/').reduce<unknown>((at, part) => (at as Json | undefined)?.[part], doc) as Json | undefined;
  }
  return node;
}

/** A short type for a schema: string, integer, enum values, arrays of …, object. */
function typeOf(doc: Json, raw: Json | undefined, depth = 0): string {
  const schema = deref(doc, raw);
  if (!schema || depth > 3) return 'any';
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if ('const' in schema) return JSON.stringify(schema.const);
  for (const key of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(schema[key])) return [...new Set((schema[key] as Json[]).map((s) => typeOf(doc, s, depth + 1)))].join(' \\| ');
  }
  if (Array.isArray(schema.allOf)) return 'object';
  if (schema.type === 'array') return `array of ${typeOf(doc, schema.items as Json | undefined, depth + 1)}`;
  if (Array.isArray(schema.type)) return schema.type.join(' \\| ');
  return typeof schema.type === 'string' ? schema.type : 'any';
}

function fieldRows(doc: Json, schema: Json | undefined): string[] {
  const properties = schema?.properties as Record<string, Json> | undefined;
  if (!properties) return [];
  const required = new Set((schema?.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, field]) => {
    const described = deref(doc, field);
    const description = typeof described?.description === 'string' ? ` — ${described.description}` : '';
    return `| \`${name}\` | ${tableCell(typeOf(doc, field))} | ${required.has(name) ? 'yes' : 'no'} | ${tableCell(description.replace(/^ — /, ''))} |`;
  });
}

/** The body's fields; a body of several shapes (anyOf/oneOf) lists each shape's, parted by an "or" row. */
function bodyFields(doc: Json, operation: Operation): string[] {
  const schema = deref(doc, operation.requestBody?.content?.['application/json']?.schema);
  const shapes = (schema?.anyOf ?? schema?.oneOf) as Json[] | undefined;
  if (schema?.properties || !Array.isArray(shapes)) return fieldRows(doc, schema);
  return shapes.map((shape) => fieldRows(doc, deref(doc, shape))).filter((rows) => rows.length > 0)
    .flatMap((rows, i) => (i === 0 ? rows : ['| **or** | | | |', ...rows]));
}

export function renderApiReference(doc: Json): string {
  const byTag = new Map<string, { method: string; path: string; op: Operation }[]>();
  for (const [path, operations] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
    for (const [method, op] of Object.entries(operations)) {
      const tag = op.tags?.[0] ?? 'other';
      (byTag.get(tag) ?? byTag.set(tag, []).get(tag)!).push({ method, path, op });
    }
  }
  const tags = [...byTag.keys()].sort();
  const out = [
    '# API reference',
    '',
    '<!-- Generated from /openapi.json by scripts/docs/api-reference.ts: change the route docs and schemas in',
    '     api/, then run `npm run docs:generate`. test/integration/openapi.test.ts fails when this file drifts. -->',
    '',
    'Every route of the API, from the OpenAPI 3.1 document the server serves at `/openapi.json` (load it',
    'in any OpenAPI tool for the full schemas). Send a token as `Authorization: Bearer …` or `X-API-Key`.',
    'Errors are `{"error": {"code", "message", "details"}}`, and bad input is a 400 naming the field;',
    'OFREP routes answer in OFREP\'s own shapes. Concepts: [concepts.md](concepts.md).',
    '',
    ...tags.map((tag) => `- [${tag}](#${tag.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')})`),
    '',
  ];
  for (const tag of tags) {
    out.push(`## ${tag}`, '');
    const operations = byTag.get(tag)!.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
    for (const { method, path, op } of operations) {
      out.push(`### \`${method.toUpperCase()} ${path}\``, '');
      if (op.summary) out.push(op.summary, '');
      if (op['x-ripcord-auth']) out.push(`**Who:** ${op['x-ripcord-auth']}`, '');
      const parameters = op.parameters ?? [];
      if (parameters.length > 0) {
        out.push('| parameter | in | type | required |', '|---|---|---|---|');
        for (const p of parameters) out.push(`| \`${p.name}\` | ${p.in} | ${tableCell(typeOf(doc, p.schema))} | ${p.required ? 'yes' : 'no'} |`);
        out.push('');
      }
      const fields = bodyFields(doc, op);
      if (fields.length > 0) out.push('| body field | type | required | meaning |', '|---|---|---|---|', ...fields, '');
      const answers = Object.entries(op.responses ?? {}).map(([status, r]) => `${status} ${tableCell(r.description ?? '')}`);
      if (answers.length > 0) out.push(`**Answers:** ${answers.join(' · ')}`, '');
    }
  }
  return out.join('\n');
}
