/* A bare SSE reader for bench:scale: counts when each client first saw a given event. */
import { request, type ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface StreamClient {
  req: ClientRequest;
  /** `event name:flag key:version` → when this client read it (performance.now()). */
  seen: Map<string, number>;
}

export function openStream(port: number, token: string): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    const client = { seen: new Map<string, number>() } as StreamClient;
    client.req = request({ host: '127.0.0.1', port, path: '/api/v1/stream', headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`));
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        const now = performance.now();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          if (event === 'ready') resolve(client);
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (!event || !data || !event.startsWith('flag.')) continue;
          const parsed = JSON.parse(data) as { key?: string; version?: number };
          client.seen.set(`${event}:${parsed.key}:${parsed.version}`, now);
        }
      });
    });
    client.req.on('error', reject);
    client.req.end();
  });
}

export async function waitUntil(done: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
