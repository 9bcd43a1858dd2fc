import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake received: its path (`/api/chat.update`, `/response/<id>`) and its decoded body. */
export interface SlackCall { path: string; body: Record<string, unknown> }

/** A chat.postMessage call as the fake Slack Web API received it. */
export interface SlackPost { channel: string; text: string; blocks: unknown[] }

export interface FakeSlackApi {
  /** What SLACK_API_URL points at (`…/api/`). */
  url: string;
  /** The server's origin, for the `response_url`s of signed payloads (`${origin}/response/<id>`). */
  origin: string;
  /** Every request, in arrival order: Web API methods and `response_url` answers alike. */
  calls: SlackCall[];
  /** The chat.postMessage calls Slack accepted. */
  posts: SlackPost[];
  /** Refuses the next `count` chat.postMessage calls (`ok: false`, as Slack does when it is unavailable). */
  failNext(count: number): void;
  /** How many chat.postMessage calls were refused. */
  failed(): number;
  close(): Promise<void>;
}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => resolve(data));
  });
}

/** A JSON or form body, with `blocks` and `attachments` decoded when the form carried them as JSON text. */
function decode(raw: string, contentType: string | undefined): Record<string, unknown> {
  try {
    const body: Record<string, unknown> = contentType?.includes('json') ? JSON.parse(raw) : Object.fromEntries(new URLSearchParams(raw));
    for (const key of ['blocks', 'attachments']) if (typeof body[key] === 'string') body[key] = JSON.parse(body[key] as string);
    return body;
  } catch {
    return { raw };
  }
}

/**
 * A local fake of Slack's Web API (what SLACK_API_URL points at) and of the `response_url`s Slack
 * hands out. Every call answers `ok: true` with the channel and a message `ts` (`options.ts`, else
 * the current time), unless failNext() asked for chat.postMessage refusals.
 */
export async function startFakeSlackApi(options: {
  ts?: () => string;
  /** Members users.info describes (id → email and whether Slack confirmed it); others: `user_not_found`. */
  members?: Record<string, { email: string; confirmed: boolean }>;
} = {}): Promise<FakeSlackApi> {
  const calls: SlackCall[] = [];
  const posts: SlackPost[] = [];
  let failuresLeft = 0;
  let failures = 0;
  const ts = options.ts ?? (() => `${Date.now() / 1000}`);
  const server: Server = createServer(async (req, res) => {
    const body = decode(await read(req), req.headers['content-type']);
    const path = req.url ?? '';
    calls.push({ path, body });
    res.setHeader('content-type', 'application/json');
    if (path === '/api/chat.postMessage' && failuresLeft > 0) {
      failuresLeft--;
      failures++;
      res.end(JSON.stringify({ ok: false, error: 'service_unavailable' }));
      return;
    }
    if (path === '/api/users.info') {
      const member = options.members?.[String(body.user)];
      res.end(JSON.stringify(member
        ? { ok: true, user: { id: body.user, is_email_confirmed: member.confirmed, profile: { email: member.email } } }
        : { ok: false, error: 'user_not_found' }));
      return;
    }
    if (path === '/api/chat.postMessage') {
      posts.push({ channel: String(body.channel), text: String(body.text), blocks: Array.isArray(body.blocks) ? body.blocks : [] });
    }
    res.end(JSON.stringify({ ok: true, channel: body.channel ?? 'C1', ts: ts() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/api/`,
    origin,
    calls,
    posts,
    failNext: (count) => (failuresLeft = count),
    failed: () => failures,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
