import { describe, expect, it, vi } from 'vitest';
import { FlagStore } from '../../../packages/node/src/definitions-store.js';
import { createClient, RipcordSdkError } from '../../../packages/node/src/index.js';
import { OutcomeReporter } from '../../../packages/node/src/outcome-reporter.js';
import { SseParser, type SseMessage } from '../../../packages/node/src/sse-parser.js';

const flag = (key: string, version: number, config: Record<string, unknown> = {}) => ({
  key, type: 'boolean' as const, environment: 'production', version,
  config: { enabled: true, value: true, off_value: false, rules: [], targeting: [], kill_switch: { enabled: false }, ...config },
});
const payload = (version: number, flags: ReturnType<typeof flag>[]) => ({ environment: 'production', version, flags, segments: [] });

describe('SSE parser', () => {
  it('parses events split anywhere, with CRLF, comments, multi-line data and a sticky last event id', () => {
    const seen: SseMessage[] = [];
    const parser = new SseParser((m) => seen.push(m));
    const stream = 'retry: 1000\r\n\r\n: comment\nid: 7\nevent: flag.killed\ndata: {"a":\ndata: 1}\n\nevent: heartbeat\ndata: {}\n\n';
    for (let i = 0; i < stream.length; i += 3) parser.feed(stream.slice(i, i + 3));
    expect(seen).toEqual([{ event: 'flag.killed', data: '{"a":\n1}', id: '7' }, { event: 'heartbeat', data: '{}' }]);
    expect(parser.lastEventId).toBe('7');
    expect(parser.retryMs).toBe(1000);
  });
});

describe('local flag store', () => {
  it('never moves a flag back to an older version, and drops flags missing from a newer set', () => {
    const store = new FlagStore();
    store.install(payload(5, [flag('a', 5), flag('b', 3)]));
    expect(store.install(payload(4, [flag('a', 4, { enabled: false }), flag('b', 3)])).changed).toEqual([]);
    expect(store.value('a', false, {}, 'boolean')).toBe(true);
    expect(store.install(payload(6, [flag('a', 5)])).changed).toEqual(['b']);
    expect(store.keys()).toEqual(['a']);
  });

  it('applies a kill announced by the stream at once, and a later fetch of the older set cannot undo it', () => {
    const store = new FlagStore();
    store.install(payload(5, [flag('a', 5)]));
    expect(store.applyKill('a', 9)).toBe(true);
    expect(store.evaluate('a', {})?.result).toMatchObject({ value: false, reason: 'DISABLED', metadata: { killSwitch: true } });
    store.install(payload(8, [flag('a', 5)]));
    expect(store.value('a', true, {}, 'boolean')).toBe(false);
    store.install(payload(10, [flag('a', 10, { kill_switch: { enabled: true } })]));
    expect(store.definition('a')?.version).toBe(10);
  });

  it('counts evaluations per variant in process', () => {
    const store = new FlagStore();
    store.install(payload(1, [flag('a', 1)]));
    for (let i = 0; i < 3; i++) store.value('a', false, {}, 'boolean');
    expect(store.drainCounts()).toEqual([{ flag: 'a', variant: 'on', count: 3 }]);
    expect(store.drainCounts()).toEqual([]);
  });
});

describe('outcome reporter', () => {
  it('sends counts in one batch per flush, keeps them through a failure, and never a request per record', async () => {
    const bodies: unknown[] = [];
    let fail = true;
    const reporter = new OutcomeReporter({
      url: 'http://api', token: 't', flushIntervalMs: 60_000, requestTimeoutMs: 1000, onError: () => undefined,
      fetch: async (_url, init) => {
        if (fail) throw new TypeError('fetch failed');
        bodies.push(JSON.parse(String(init?.body)));
        return new Response(null, { status: 202 });
      },
    });
    for (let i = 0; i < 1000; i++) reporter.record('f', i % 2 ? 'on' : 'off', i % 10 ? 'success' : 'error');
    await reporter.flush();
    expect(bodies).toEqual([]);
    fail = false;
    reporter.record('f', 'on', 'success');
    await reporter.close();
    expect(bodies).toHaveLength(1);
    const events = (bodies[0] as { events: Array<{ flag: string; variant: string; outcome: string; count: number }> }).events;
    expect(events.reduce((n, e) => n + e.count, 0)).toBe(1001);
    expect(events.find((e) => e.variant === 'on' && e.outcome === 'success')?.count).toBe(501); // every odd i, and the one after the failure
  });
});

describe('createClient', () => {
  it('refuses bad options with every problem named, and needs url and token unless offline', () => {
    expect(() => createClient({ url: 'not a url', token: '' })).toThrow(/url: .*token: /s);
    expect(() => createClient({})).toThrow(/url is required unless offline/);
  });

  it('never throws at evaluation: a bad bootstrap is reported and defaults are served', async () => {
    const errors: RipcordSdkError[] = [];
    const client = createClient({ offline: true, bootstrap: { nonsense: true }, onError: (e) => errors.push(e) });
    expect(errors[0]?.code).toBe('BOOTSTRAP_FAILED');
    expect(client.boolean('x', true)).toBe(true);
    expect(client.json('x', { a: 1 })).toEqual({ a: 1 });
    const hostile = { get targetingKey(): string { throw new Error('boom'); } };
    const ok = createClient({ offline: true, bootstrap: payload(1, [flag('a', 1, { rollout: { percentage: 50, strategy: 'gradual' } })]) });
    expect(ok.details('a', false, hostile)).toMatchObject({ value: false, reason: 'ERROR' });
    await expect(client.ready(50)).rejects.toThrow(/no flag definitions/);
    await expect(ok.ready()).resolves.toBe('bootstrap');
  });

  it('falls back to polling with ETag when the server has no stream', async () => {
    const calls: Array<{ url: string; etag: string | null }> = [];
    const client = createClient({
      url: 'http://api', token: 't', pollIntervalMs: 100,
      fetch: async (input, init) => {
        const url = String(input);
        calls.push({ url, etag: new Headers(init?.headers).get('if-none-match') });
        if (url.endsWith('/api/v1/stream')) return new Response('no', { status: 404 });
        if (url.endsWith('/api/v1/definitions')) {
          return calls.filter((c) => c.url.endsWith('/definitions')).length === 1
            ? new Response(JSON.stringify(payload(1, [flag('a', 1)])), { headers: { etag: '"e1"' } })
            : new Response(null, { status: 304 });
        }
        return new Response(null, { status: 202 });
      },
    });
    await expect(client.ready(1000)).resolves.toBe('server');
    const polls = () => calls.filter((c) => c.url.endsWith('/definitions'));
    // Polls on its own: wait (bounded) for two more requests instead of sleeping a fixed time.
    await vi.waitFor(() => expect(polls().length).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 20 });
    await client.close();
    expect(polls().slice(1).every((c) => c.etag === '"e1"')).toBe(true);
    expect(calls.filter((c) => c.url.endsWith('/stream'))).toHaveLength(1);
    expect(client.boolean('a', false)).toBe(true);
  });
});
