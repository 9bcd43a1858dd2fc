import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, uniqueKey, type Stack } from '../harness.js';

/**
 * A path parameter whose percent-escapes are not UTF-8 (`%FF`, a surrogate `%ED%A0%80`, an overlong
 * `%C0%AF`) is a 400 naming the parameter, before any route, token lookup or query — never a 500 with
 * a stack trace — and nothing of the value reaches the log (an alert trigger's path is its secret).
 * The same on Express and on the node:http fast path. And a query parameter holding NUL is a 400
 * naming it before any query reaches Postgres.
 */

const SECRET = `rc_trigger_${'S'.repeat(43)}`;

/** Everything the API logs, as text. */
class LogCapture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

for (const fastPath of ['on', 'off'] as const) {
  describe(`undecodable path parameters (EVALUATION_FAST_PATH=${fastPath})`, () => {
    let stack: Stack;
    const log = new LogCapture();
    let segment: string;
    beforeAll(async () => {
      stack = await startStack({ EVALUATION_FAST_PATH: fastPath, LOG_LEVEL: 'info' }, { worker: false, log });
      segment = uniqueKey('escapes');
      expect((await stack.request('POST', '/api/v1/segments', { body: { key: segment, kind: 'list', members: ['m'] } })).status).toBe(201);
    });
    afterAll(async () => {
      await stack?.close();
    });

    it.each([
      ['POST', '/api/v1/flags/%FF', 'params.key'],
      ['GET', '/api/v1/flags/%FF', 'params.key'],
      ['GET', '/api/v1/flags/ok/environments/%ED%A0%80', 'params.env'],
      ['GET', '/api/v1/flags/%C0%AF/environments/production', 'params.key'],
      ['DELETE', '/api/v1/tokens/%E0%80%80', 'params.id'],
    ])('%s %s is 400 naming %s', async (method, path, field) => {
      const response = await stack.request(method, path, { body: method === 'GET' || method === 'DELETE' ? undefined : {} });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
      expect(response.body.error.details).toEqual([{ path: field, message: expect.stringMatching(/percent-encoded UTF-8/) }]);
    });

    it("a segment member that is a lone surrogate (%ED%A0%80) is 400 naming params.member", async () => {
      const response = await stack.request('GET', `/api/v1/segments/${segment}/members/%ED%A0%80`);
      expect(response.status).toBe(400);
      expect(response.body.error.details).toEqual([{ path: 'params.member', message: expect.stringMatching(/percent-encoded UTF-8/) }]);
    });

    it('OFREP without a token: 400 in OFREP\'s shape naming the parameter (and the preflight is not a 500 either)', async () => {
      const response = await stack.request('POST', '/ofrep/v1/evaluate/flags/%FF', { token: null, body: { context: {} } });
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ errorCode: 'PARSE_ERROR', errorDetails: expect.stringContaining("path parameter 'key'") });
      const preflight = await fetch(`${stack.api.url}/ofrep/v1/evaluate/flags/%FF`, { method: 'OPTIONS' });
      expect(preflight.status).toBeLessThan(500);
    });

    it("an alert trigger's path: 400 naming params.secret, and the secret never reaches the log", async () => {
      for (const path of ['/hooks/v1/triggers/%FF', `/hooks/v1/triggers/${SECRET}%FF`, `/hooks/v1/triggers/%FF${SECRET}`]) {
        const response = await stack.request('POST', path, { token: null, body: { status: 'firing' } });
        expect(response.status).toBe(400);
        expect(response.body.error.details).toEqual([{ path: 'params.secret', message: expect.stringMatching(/percent-encoded UTF-8/) }]);
        expect(JSON.stringify(response.body)).not.toContain(SECRET);
      }
    });

    it('leaves no error and no stack trace in the log, and no secret', () => {
      expect(log.text).not.toContain(SECRET);
      expect(log.text).not.toContain('Failed to decode');
      expect(log.text).not.toMatch(/"level":(50|60)/);
      expect(log.text).not.toContain('URIError');
    });
  });
}

describe('query parameters holding NUL', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({}, { worker: false });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('GET /api/v1/dashboard/flags?q=%00 is 400 naming query.q, refused by the schema (not by Postgres, whose refusal names body)', async () => {
    for (const q of ['%00', 'abc%00def']) {
      const response = await stack.request('GET', `/api/v1/dashboard/flags?q=${q}`);
      expect(response.status).toBe(400);
      expect(response.body.error.details).toEqual([{ path: 'query.q', message: expect.not.stringContaining('database') }]);
    }
  });
});

