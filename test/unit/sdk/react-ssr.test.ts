import { createElement as h } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { BrowserFlagClient, RipcordProvider, useFlag, useFlags } from '../../../packages/react/src/index.js';

function Page() {
  const nav = useFlag('new-nav', false);
  const theme = useFlag('theme', 'light');
  const { status } = useFlags();
  return h('p', null, `nav=${String(nav)} theme=${theme} status=${status}`);
}

describe('React SDK on a server', () => {
  it('renders without browser APIs: initialFlags, then defaults, never the network', () => {
    expect('window' in globalThis || 'localStorage' in globalThis).toBe(false);
    const html = renderToString(h(RipcordProvider, { url: 'http://127.0.0.1:9', token: 'rc_client_x', initialFlags: { 'new-nav': true } }, h(Page)));
    expect(html).toContain('nav=true theme=light status=loading');
  });

  it('answers defaults without a provider, and for a value of another type', () => {
    expect(renderToString(h(Page))).toContain('nav=false theme=light');
    const html = renderToString(h(RipcordProvider, { url: 'http://x', token: 't', initialFlags: { 'new-nav': 'yes', theme: 'dark' } }, h(Page)));
    expect(html).toContain('nav=false theme=dark');
  });
});

describe('BrowserFlagClient', () => {
  function memoryStorage() {
    const map = new Map<string, string>();
    return { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v), map };
  }

  it('caches answers for the next first render, sends the cached ETag, and keeps one anonymous key', async () => {
    const storage = memoryStorage();
    const requests: Array<{ etag: string | null; body: string }> = [];
    const fetchStub: typeof fetch = async (_url, init) => {
      requests.push({ etag: new Headers(init?.headers).get('if-none-match'), body: String(init?.body) });
      if (requests.length > 1) return new Response(null, { status: 304 });
      return new Response(JSON.stringify({ flags: [{ key: 'a', value: true, variant: 'on', reason: 'STATIC' }, { key: 'b', errorCode: 'TARGETING_KEY_MISSING' }] }), { headers: { etag: '"v1"' } });
    };
    const first = new BrowserFlagClient({ url: 'http://api', token: 't', storage, fetch: fetchStub, live: false });
    first.start();
    await first.refresh();
    first.stop();
    expect(first.getSnapshot()).toMatchObject({ status: 'ready', flags: { a: { value: true }, b: { errorCode: 'TARGETING_KEY_MISSING' } } });
    const anonymous = JSON.parse(requests[0]!.body).context.targetingKey;
    expect(anonymous).toMatch(/^anon-/);

    const second = new BrowserFlagClient({ url: 'http://api', token: 't', storage, fetch: fetchStub, live: false });
    expect(second.getSnapshot()).toMatchObject({ status: 'cached', flags: { a: { value: true } } });
    expect(second.getServerSnapshot().flags).toEqual({});
    second.start();
    await second.refresh();
    second.stop();
    expect(requests.at(-1)!.etag).toBe('"v1"');
    expect(JSON.parse(requests.at(-1)!.body).context.targetingKey).toBe(anonymous);
    expect(second.getSnapshot().status).toBe('ready');
  });

  it('keeps the cached values when the API is unreachable', async () => {
    const storage = memoryStorage();
    const ok: typeof fetch = async () => new Response(JSON.stringify({ flags: [{ key: 'a', value: 'x' }] }), { headers: { etag: '"1"' } });
    const seed = new BrowserFlagClient({ url: 'http://api', token: 't', context: { targetingKey: 'u' }, storage, fetch: ok, live: false });
    await seed.refresh();
    const errors: Error[] = [];
    const down = new BrowserFlagClient({
      url: 'http://api', token: 't', context: { targetingKey: 'u' }, storage, live: false, onError: (e) => errors.push(e),
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    await down.refresh();
    expect(down.getSnapshot()).toMatchObject({ status: 'cached', flags: { a: { value: 'x' } } });
    expect(errors).toHaveLength(1);
  });
});
