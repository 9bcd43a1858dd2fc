/**
 * Every path and query parameter of every operation in /openapi.json, swept with percent-escapes that
 * do not decode and with NUL (the deterministic half of the API fuzzing), and schemathesis's run as a
 * client token (api-fuzz.ts), on the file's own API and worker.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../harness.js';
import { fuzzClientOperations, useFuzzTarget } from './api-fuzz.js';

const target = useFuzzTarget();
fuzzClientOperations(target);

/** Escapes decodeURIComponent refuses: invalid bytes, a lone surrogate, overlong and out-of-range forms, truncated sequences, bad hex. */
const UNDECODABLE = ['%FF', '%ED%A0%80', '%C0%AF', '%E0%80%80', '%F0%80%80%AF', '%F8%88%80%80%80', '%F4%90%80%80', '%C3', '%E2%82', '%80', '%', '%G1', 'a%2', `rc_trigger_${'A'.repeat(43)}%FF`];
/** Escapes that decode, to characters no text field takes: NUL, and NUL inside a plausible value. */
const DECODABLE_BUT_BAD = ['%00', 'fuzz%00flag'];

interface OpenApiOperation { parameters?: Array<{ name: string; in: string }>; responses: Record<string, unknown> }
type OpenApiDocument = { paths: Record<string, Record<string, OpenApiOperation>> };

/** Every operation of the document with its method, path template and parameters of one location. */
function operationsOf(doc: OpenApiDocument, location: 'path' | 'query') {
  return Object.entries(doc.paths).flatMap(([template, methods]) => Object.entries(methods)
    .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
    .map(([method, operation]) => ({ template, method, operation, names: (operation.parameters ?? []).filter((p) => p.in === location).map((p) => p.name) }))
    .filter(({ names }) => names.length > 0));
}

describe('percent-escapes in every path and query parameter of /openapi.json (a deterministic sweep)', () => {
  /** A value for a path parameter that is not under test: the fixtures, so the request gets past other checks. */
  const valueOf = (name: string): string => ({ key: target().fixtures.flag, env: 'production', id: target().fixtures.webhookId, member: 'user-1', name: 'fuzz', secret: `rc_trigger_${'A'.repeat(43)}` } as Record<string, string>)[name] ?? 'fuzz';
  const send = async (method: string, path: string) => {
    const response = await fetch(`${target().stack.api.url}${path}`, {
      method: method.toUpperCase(), headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: method === 'get' || method === 'delete' ? undefined : '{}',
    });
    const text = await response.text();
    let body: { error?: { details?: Array<{ path: string }> }; errorDetails?: string } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, body, text };
  };

  it('undecodable escapes and overlong/invalid UTF-8 in a path parameter: a documented 400 naming it, never a 5xx; NUL: a documented 4xx', async () => {
    const doc = (await target().stack.request('GET', '/openapi.json')).body as OpenApiDocument;
    const operations = operationsOf(doc, 'path');
    expect(operations.length).toBeGreaterThanOrEqual(40);
    const failures: string[] = [];
    let sent = 0;
    for (const { template, method, operation, names } of operations) {
      for (const name of names) {
        for (const bad of [...UNDECODABLE, ...DECODABLE_BUT_BAD]) {
          const path = template.replace(/\{(\w+)\}/g, (_all, param: string) => (param === name ? bad : encodeURIComponent(valueOf(param))));
          const { status, body, text } = await send(method, path);
          sent += 1;
          const where = `${method.toUpperCase()} ${path} → ${status} ${text.slice(0, 200)}`;
          if (status >= 500) failures.push(where);
          else if (!(String(status) in operation.responses)) failures.push(`${where} (undocumented status)`);
          else if (UNDECODABLE.includes(bad)) {
            const named = body?.error?.details?.some((d) => d.path === `params.${name}`) || body?.errorDetails?.includes(`'${name}'`);
            if (status !== 400 || !named) failures.push(`${where} (expected a 400 naming ${name})`);
            if (text.includes('rc_trigger_')) failures.push(`${where} (the value came back)`);
          } else if (status < 400) failures.push(`${where} (NUL accepted)`);
        }
      }
    }
    console.log(`[api-fuzz] path escapes: ${sent} requests over ${operations.length} operations`);
    expect(failures).toEqual([]);
  });

  it('undecodable escapes and NUL in every query parameter: never a 5xx, only documented statuses', async () => {
    const doc = (await target().stack.request('GET', '/openapi.json')).body as OpenApiDocument;
    const operations = operationsOf(doc, 'query');
    expect(operations.length).toBeGreaterThanOrEqual(10);
    const failures: string[] = [];
    for (const { template, method, operation, names } of operations) {
      // Streams answer until the client goes: their query parameters are credentials checked before the stream opens.
      const path = template.replace(/\{(\w+)\}/g, (_all, param: string) => encodeURIComponent(valueOf(param)));
      for (const name of names) {
        for (const bad of ['%FF', '%ED%A0%80', '%C0%AF', '%', '%00', 'x%00y']) {
          const controller = new AbortController();
          const timer = setTimeout(() => controller.abort(), 5_000);
          try {
            const response = await fetch(`${target().stack.api.url}${path}?${name}=${bad}`, {
              method: method.toUpperCase(), signal: controller.signal,
              headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: method === 'get' || method === 'delete' ? undefined : '{}',
            });
            const status = response.status;
            await response.body?.cancel();
            if (status >= 500) failures.push(`${method.toUpperCase()} ${path}?${name}=${bad} → ${status}`);
            else if (!(String(status) in operation.responses)) failures.push(`${method.toUpperCase()} ${path}?${name}=${bad} → ${status} (undocumented status)`);
          } finally {
            clearTimeout(timer);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
