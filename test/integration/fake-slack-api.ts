import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A chat.postMessage call as the fake Slack Web API received it. */
export interface SlackPost { channel: string; text: string; blocks: unknown[] }

/**
 * A local fake of Slack's Web API (what SLACK_API_URL points at) that records chat.postMessage and can
 * refuse the next calls (`ok: false`, as Slack does when it is unavailable).
 */
export async function startFakeSlackApi(): Promise<{ url: string; posts: SlackPost[]; failNext(count: number): void; failed(): number; close(): Promise<void> }> {
  const posts: SlackPost[] = [];
  let failuresLeft = 0;
  let failures = 0;
  const read = (req: IncomingMessage) => new Promise<string>((resolve) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => resolve(data));
  });
  const server: Server = createServer(async (req, res) => {
    const raw = await read(req);
    const body: Record<string, unknown> = req.headers['content-type']?.includes('json') ? JSON.parse(raw) : Object.fromEntries(new URLSearchParams(raw));
    res.setHeader('content-type', 'application/json');
    if (req.url === '/api/chat.postMessage' && failuresLeft > 0) {
      failuresLeft--;
      failures++;
      res.end(JSON.stringify({ ok: false, error: 'service_unavailable' }));
      return;
    }
    if (req.url === '/api/chat.postMessage') {
      posts.push({ channel: String(body.channel), text: String(body.text), blocks: typeof body.blocks === 'string' ? JSON.parse(body.blocks) : (body.blocks as unknown[]) ?? [] });
    }
    res.end(JSON.stringify({ ok: true, channel: body.channel ?? 'C1', ts: `${Date.now() / 1000}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`,
    posts,
    failNext: (count) => (failuresLeft = count),
    failed: () => failures,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
