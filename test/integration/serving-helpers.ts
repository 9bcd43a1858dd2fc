import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { hashToken } from '../../src/auth/principal.js';
import type { Database } from '../../src/connections/database.js';
import type { Stack } from './harness.js';

/** Creates a flag and writes its config in one environment through the management API. */
export async function createFlag(
  stack: Stack,
  key: string,
  config: Record<string, unknown>,
  options: { type?: 'boolean' | 'string' | 'number' | 'json'; environment?: string } = {},
): Promise<number> {
  const created = await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: options.type ?? 'boolean' } });
  expect(created.status).toBe(201);
  return putConfig(stack, key, config, options.environment);
}

/** Replaces a flag's config in an environment; returns the new version. */
export async function putConfig(stack: Stack, key: string, config: Record<string, unknown>, environment = 'production'): Promise<number> {
  const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/${environment}`, { body: config });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  return put.body.version;
}

/** Stores an API token of a kind for an environment and returns its secret. */
export async function createToken(db: Database, kind: 'client' | 'server', environment = 'production'): Promise<string> {
  const secret = `rc_${kind}_${randomBytes(16).toString('hex')}`;
  await db.query('INSERT INTO api_tokens (name, kind, environment, token_hash) VALUES ($1, $2, $3, $4)', [
    `test ${kind} token`, kind, environment, hashToken(secret),
  ]);
  return secret;
}

/** A live boolean flag serving `value` to everyone. */
export const onForEveryone = { enabled: true, value: true, off_value: false, rollout: { percentage: 100, strategy: 'immediate' } };

/** Reads Server-Sent Events from a URL until `until` says stop; returns every event read. */
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export interface SseClient {
  events: SseEvent[];
  /** Resolves with the first event (already read or still to come) that matches. */
  next(match: (event: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  close(): void;
}

/** Connects to an SSE endpoint with fetch (headers allowed, unlike EventSource) and parses the stream. */
export async function openSse(url: string, headers: Record<string, string>): Promise<SseClient> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  if (response.status !== 200 || !response.body) throw new Error(`SSE connect failed: ${response.status} ${await response.text()}`);
  const events: SseEvent[] = [];
  const waiters = new Set<{ match: (event: SseEvent) => boolean; resolve: (event: SseEvent) => void }>();
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { event: 'message', data: '' };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon === -1 ? line : line.slice(0, colon);
            const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') event.id = value;
            else if (field === 'event') event.event = value;
            else if (field === 'data') data.push(value);
          }
          if (data.length === 0 && event.id === undefined) continue;
          event.data = data.join('\n');
          events.push(event);
          for (const waiter of [...waiters]) {
            if (waiter.match(event)) {
              waiters.delete(waiter);
              waiter.resolve(event);
            }
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    events,
    next(match, timeoutMs = 10_000) {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (event: SseEvent) => { clearTimeout(timer); resolve(event); } };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching SSE event within ${timeoutMs} ms; got ${JSON.stringify(events.map((e) => e.event))}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close: () => controller.abort(),
  };
}
