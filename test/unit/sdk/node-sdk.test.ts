import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { FlagStore } from '../../../packages/node/src/definitions-store.js';
import { createClient, RipcordSdkError } from '../../../packages/node/src/index.js';
import { InstanceReporter } from '../../../packages/node/src/instance-reporter.js';
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

  it('reads the same events however a stream of them is cut into chunks', () => {
    const line = fc.constantFrom('event: flag.killed', 'data: {"key":"a"}', 'data: x', 'id: 9', ': comment', 'retry: 5', '');
    const eol = fc.constantFrom('\n', '\r\n', '\r');
    const stream = fc.array(fc.tuple(line, eol), { maxLength: 30 }).map((lines) => lines.map(([l, e]) => l + e).join(''));
    fc.assert(fc.property(stream, fc.array(fc.nat(), { maxLength: 10 }), (text, cuts) => {
      const whole: SseMessage[] = [];
      const wholeParser = new SseParser((m) => whole.push(m));
      wholeParser.feed(text);
      const pieces: SseMessage[] = [];
      const piecesParser = new SseParser((m) => pieces.push(m));
      const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
      let from = 0;
      for (const to of [...at, text.length]) {
        piecesParser.feed(text.slice(from, to));
        from = to;
      }
      // A cut between \r and \n can only be told from a lone \r once more text comes: compare after a final newline.
      wholeParser.feed('\n');
      piecesParser.feed('\n');
      expect(pieces).toEqual(whole);
      expect(piecesParser.lastEventId).toBe(wholeParser.lastEventId);
    }), { numRuns: 300 });
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

  it('applies a kill or restore the stream carried whole, at the next environment version, from the flag version it holds', () => {
    const store = new FlagStore();
    store.install(payload(5, [flag('a', 5), flag('b', 3, { value: false, off_value: true })]));
    const change = { key: 'b', environment: 'production', version: 6, enabled: true, kill_switch: true, from_version: 3 };
    expect(store.applyChange(change)).toBe(true);
    expect(store.version).toBe(6);
    expect(store.definition('b')).toEqual({ ...flag('b', 6, { value: false, off_value: true }), config: { ...flag('b', 6, { value: false, off_value: true }).config, kill_switch: { enabled: true } } });
    expect(store.value('b', false, {}, 'boolean')).toBe(true);
    expect(store.applyChange({ ...change, version: 7, kill_switch: false, from_version: 6 })).toBe(true);
    expect(store.value('b', true, {}, 'boolean')).toBe(false);
    expect(store.applyChange({ ...change, key: 'a', version: 8, enabled: false, kill_switch: false, from_version: 5 })).toBe(true);
    expect(store.value('a', true, {}, 'boolean')).toBe(false);
    // The payload written to the cache file holds what was applied.
    expect(store.toPayload()).toMatchObject({ environment: 'production', version: 8, flags: [{ key: 'a', version: 8, config: { enabled: false } }, { key: 'b', version: 7 }] });
  });

  it('after any sequence of kills, restores and on/off switches, answers as a store that fetched the same definition', () => {
    const vip = { id: 'vip', type: 'user_attribute', priority: 1, action: 'disable', conditions: [{ field: 'tier', operator: 'equals', value: 'vip' }] };
    const contexts = [{}, { targetingKey: 'u1', tier: 'vip' }, { targetingKey: 'u2', tier: 'basic' }];
    fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 12 }), (states) => {
      const store = new FlagStore();
      store.install(payload(5, [flag('a', 5, { rules: [vip] })]));
      let version = 5;
      for (const [enabled, killed] of states) {
        const held = store.definition('a')!.config;
        if (held.enabled === enabled && held.kill_switch.enabled === killed) continue;
        expect(store.applyChange({ key: 'a', environment: 'production', version: version + 1, enabled, kill_switch: killed, from_version: version })).toBe(true);
        version += 1;
        const fetched = new FlagStore();
        fetched.install({ environment: 'production', version, flags: [store.definition('a')!], segments: [] });
        for (const context of contexts) expect(store.evaluate('a', context)).toEqual(fetched.evaluate('a', context));
        expect(store.evaluate('a', {})?.version).toBe(version);
      }
    }), { numRuns: 200 });
  });

  it('refuses, changing nothing, a change it cannot apply whole: a version missed, another flag version, an unknown flag, no from_version', () => {
    const store = new FlagStore();
    store.install(payload(5, [flag('a', 5)]));
    const change = { key: 'a', environment: 'production', version: 6, enabled: true, kill_switch: true, from_version: 5 };
    const refused = [
      { ...change, version: 7 }, // 6 was missed
      { ...change, version: 5 }, // not newer
      { ...change, from_version: 4 }, // computed against a flag version this store does not hold
      { ...change, key: 'new-flag' },
      { key: 'a', environment: 'production', version: 6, enabled: true, kill_switch: true }, // an old server's event, or not a state change
      { key: 'a', environment: 'production', version: 6, from_version: 5 },
    ];
    for (const event of refused) {
      expect(store.applyChange(event)).toBe(false);
      expect(store.version).toBe(5);
      expect(store.definition('a')).toMatchObject({ version: 5, config: { kill_switch: { enabled: false } } });
    }
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

describe('instance reporter', () => {
  it('tells a version again within a second after a failed report, not a heartbeat later', async () => {
    const sent: number[] = [];
    let fail = true;
    const reporter = new InstanceReporter({
      url: 'http://api', token: 't', kind: 'node-local', sdkVersion: '0.1.0', requestTimeoutMs: 1_000, heartbeatMs: 60_000, onError: () => undefined,
      fetch: async (_url, init) => {
        const { version } = JSON.parse(String(init?.body)) as { version: number };
        if (fail) {
          fail = false;
          return new Response('busy', { status: 503 });
        }
        sent.push(version);
        return Response.json({ replica: 'r1', heartbeat_seconds: 60 });
      },
    });
    reporter.serving(7);
    reporter.start();
    await vi.waitFor(() => expect(sent).toEqual([7]), { timeout: 2_000, interval: 20 });
    expect(reporter.sent).toBe(1);
    await reporter.close();
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

  it('fetches again after a failed fetch even while its stream stays connected', async () => {
    let definitionsCalls = 0;
    const encoder = new TextEncoder();
    const streams: Array<ReadableStreamDefaultController<Uint8Array>> = [];
    const client = createClient({
      url: 'http://api', token: 't', pollIntervalMs: 100, reportInstance: false,
      fetch: async (input) => {
        const url = String(input);
        if (url.endsWith('/api/v1/stream')) {
          // Connected, ready, and then silent: no change will announce anything.
          return new Response(new ReadableStream<Uint8Array>({
            start(controller) {
              streams.push(controller);
              controller.enqueue(encoder.encode('id: 1\nevent: ready\ndata: {"environment":"production","version":1}\n\n'));
            },
          }), { headers: { 'content-type': 'text/event-stream' } });
        }
        if (url.endsWith('/api/v1/definitions')) {
          definitionsCalls += 1;
          // The first two fail (the start-up fetch and the one the stream's ready asks for: an overloaded API).
          if (definitionsCalls <= 2) return new Response('busy', { status: 503 });
          return new Response(JSON.stringify(payload(1, [flag('a', 1)])), { headers: { etag: '"e1"' } });
        }
        return new Response(null, { status: 202 });
      },
      onError: () => undefined,
    });
    await expect(client.ready(5_000)).resolves.toBe('server');
    expect(client.status().streamConnected).toBe(true);
    expect(client.boolean('a', false)).toBe(true);
    const after = definitionsCalls;
    // Once a fetch has succeeded, the connected stream is trusted again: no more polling.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(definitionsCalls).toBe(after);
    for (const stream of streams) stream.close();
    await client.close();
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
