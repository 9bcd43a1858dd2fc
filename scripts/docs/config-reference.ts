/**
 * Renders docs/configuration.md from the config schema: every variable of `configSchema`
 * (src/config.ts) with its default, its allowed values and the doc comment written above it.
 * test/unit/docs-reference.test.ts fails when the committed file drifts; `npm run docs:generate` rewrites it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { z } from 'zod';
import { configSchema } from '../../src/config.js';
import { tableCell } from './markdown-table.js';

const CONFIG_SOURCE = fileURLToPath(new URL('../../src/config.ts', import.meta.url));

export interface ConfigVariable {
  name: string;
  description: string;
  defaultValue: string | undefined;
  allowed: string[] | undefined;
}

/** The doc comment above each property of the object given to `z.object(…)` in `configSchema`. */
function docComments(): Map<string, string> {
  const source = ts.createSourceFile(CONFIG_SOURCE, readFileSync(CONFIG_SOURCE, 'utf8'), ts.ScriptTarget.Latest, true);
  const found = new Map<string, string>();
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && node.name.getText(source) === 'configSchema') {
      // configSchema = z.object({…}).superRefine(…): the first object literal inside is z.object's argument.
      const literal = findObjectLiteral(node);
      for (const property of literal?.properties ?? []) {
        if (!ts.isPropertyAssignment(property)) continue;
        const comment = ts.getJSDocCommentsAndTags(property).map((doc) => (ts.isJSDoc(doc) ? ts.getTextOfJSDocComment(doc.comment) ?? '' : '')).join(' ');
        found.set(property.name.getText(source), comment.replace(/\s+/g, ' ').trim());
      }
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function findObjectLiteral(node: ts.Node): ts.ObjectLiteralExpression | undefined {
  if (ts.isObjectLiteralExpression(node)) return node;
  let result: ts.ObjectLiteralExpression | undefined;
  ts.forEachChild(node, (child) => {
    result ??= findObjectLiteral(child);
  });
  return result;
}

function allowedValues(field: z.ZodType): string[] | undefined {
  const schema = z.toJSONSchema(field, { unrepresentable: 'any', io: 'input' }) as { enum?: unknown[]; anyOf?: { enum?: unknown[] }[] };
  const values = schema.enum ?? schema.anyOf?.flatMap((s) => s.enum ?? []);
  return values && values.length > 0 ? values.map(String) : undefined;
}

/** Every variable in the schema's order. */
export function configVariables(): ConfigVariable[] {
  const comments = docComments();
  return Object.entries(configSchema.shape).map(([name, field]) => {
    const parsed = (field as z.ZodType).safeParse(undefined);
    const defaultValue = parsed.success && parsed.data !== undefined ? String(parsed.data) : undefined;
    return { name, description: comments.get(name) ?? '', defaultValue, allowed: allowedValues(field as z.ZodType) };
  });
}


export function renderConfigReference(variables = configVariables()): string {
  const rows = variables.map(({ name, description, defaultValue, allowed }) => {
    const fallback = defaultValue === undefined ? '—' : defaultValue === '' ? '(empty)' : `\`${defaultValue}\``;
    const values = allowed ? ` One of ${allowed.map((v) => `\`${v}\``).join(', ')}.` : '';
    return `| \`${name}\` | ${tableCell(fallback)} | ${tableCell(description + values)} |`;
  });
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config.ts by scripts/docs/config-reference.ts: edit the doc comments there, then',
    '     run `npm run docs:generate`. test/unit/docs-reference.test.ts fails when this file drifts. -->',
    '',
    'Ripcord reads its configuration from environment variables only; an empty value counts as unset.',
    'A bad value stops start-up with a message naming every bad variable (exit code 2). `npm run dev` and',
    '`npm test` set the URLs, the bootstrap admin token and the keys for their local stack (`.stack/env`).',
    'Production settings in context — TLS, Sentinel, poolers, timeouts, the graceful stop — are explained in',
    '[Operations](operations.md#production-settings).',
    '',
    '| variable | default | meaning |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
