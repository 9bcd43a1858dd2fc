import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { clientAddress, type TrustProxy } from '../src/serving/client-address.js';
import {
  CORS_HEADERS,
  CORS_PREFLIGHT_HEADERS,
  JSON_CONTENT_TYPE,
  JSON_HEADERS,
  MAX_EVALUATION_BODY_BYTES,
  type EvaluationEndpoints,
  type ServingRequest,
  type ServingResponse,
} from '../src/serving/evaluation-endpoints.js';
import { OFREP_EVENT_STREAM_PATH } from '../src/serving/ofrep-event-streams.js';
import { ControlPlaneFirst } from './control-plane-first.js';

const FLAG_PREFIX = '/ofrep/v1/evaluate/flags/';
const BULK = '/ofrep/v1/evaluate/flags';
const NATIVE = '/api/v1/evaluate';
const INSTANCE_REPORT = '/api/v1/instances/report';
const STREAM_PATHS = ['/api/v1/stream', OFREP_EVENT_STREAM_PATH];
const PREFLIGHT_PATHS = [BULK, NATIVE, INSTANCE_REPORT, ...STREAM_PATHS];

/** What the fast path serves: the evaluation endpoints and, when given, SDK instance reports. */
export type FastPathEndpoints = EvaluationEndpoints & { instanceReport?: (request: ServingRequest) => ServingResponse | Promise<ServingResponse> };

/**
 * Reads a request body up to `limit` bytes and calls `done` with it, or with null when it is larger.
 * Callbacks, not a promise: the hot path makes none.
 */
export function readBody(req: IncomingMessage, limit: number, done: (body: Buffer | null) => void, failed: (error: unknown) => void): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return done(null);
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > limit) {
      over = true;
      done(null);
      return;
    }
    if (!first) first = chunk;
    else (chunks ??= [first]).push(chunk);
  });
  req.on('end', () => {
    if (!over) done(chunks ? Buffer.concat(chunks) : (first ?? EMPTY));
  });
  req.on('error', failed);
}

const EMPTY = Buffer.alloc(0);

function send(res: ServerResponse, answer: ServingResponse): void {
  if (answer.headers === JSON_HEADERS && answer.body !== undefined) {
    // The usual answer: one literal of a fixed shape, no copies of header objects.
    res.writeHead(answer.status, {
      'access-control-allow-origin': CORS_HEADERS['access-control-allow-origin'],
      'access-control-expose-headers': CORS_HEADERS['access-control-expose-headers'],
      'content-type': JSON_CONTENT_TYPE,
      'content-length': Buffer.byteLength(answer.body),
    });
    res.end(answer.body);
    return;
  }
  const headers: Record<string, string | number> = answer.headers ? { ...CORS_HEADERS, ...answer.headers } : { ...CORS_HEADERS };
  // With its length known the answer goes out in one write, not as chunks (no chunked framing).
  if (answer.body !== undefined) headers['content-length'] = Buffer.byteLength(answer.body);
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}

const tooLarge = (native: boolean): ServingResponse => ({
  status: 413,
  headers: { 'content-type': 'application/json; charset=utf-8', connection: 'close' },
  body: JSON.stringify(
    native
      ? { error: { code: 'PAYLOAD_TOO_LARGE', message: `The request body is larger than ${MAX_EVALUATION_BODY_BYTES} bytes` } }
      : { errorCode: 'PARSE_ERROR', errorDetails: `The request body is larger than ${MAX_EVALUATION_BODY_BYTES} bytes` },
  ),
});

/**
 * A node:http request as the endpoints see it. A class, not an object literal with a getter: a
 * literal's accessor is a new function per request, and V8 keeps it in an old-space descriptor, which
 * kept every request's closure (request, response, headers) alive through young-generation
 * collections until a full one: per request several KB promoted, collections ten times as long.
 */
class NodeServingRequest implements ServingRequest {
  private clientAddress: string | undefined;
  private params: URLSearchParams | undefined;

  constructor(
    private readonly req: IncomingMessage,
    readonly body: Buffer,
    private readonly search: string,
    private readonly trust: TrustProxy,
  ) {}

  header(name: string): string | undefined {
    const value = this.req.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  /** Query parameters, parsed only when asked for (the hot path usually has no query string). */
  query(name: string): string | undefined {
    if (!this.search) return undefined;
    return (this.params ??= new URLSearchParams(this.search)).get(name) ?? undefined;
  }

  /** Worked out only when a limit asks for it. */
  get address(): string {
    return (this.clientAddress ??= clientAddress(this.req, this.trust));
  }
}

/**
 * The evaluation hot paths served straight from node:http — OFREP single and bulk, the native
 * bulk evaluate, SDK instance reports and CORS preflights — and every other request handed to
 * `fallback` (the Express app). Express's per-request cost is several times the evaluation's.
 * Requests for `fallback` (the control plane) go first: evaluations wait while one is in flight
 * (`priority`, api/control-plane-first.ts), except for event streams, which stay open.
 */
export function createFastPath(
  endpoints: FastPathEndpoints,
  fallback: RequestListener,
  trust: TrustProxy,
  onError?: (error: unknown) => void,
  priority = new ControlPlaneFirst(),
): RequestListener {
  function handle(req: IncomingMessage, res: ServerResponse, run: (request: ServingRequest) => ServingResponse | Promise<ServingResponse>, native: boolean, search: string, fail: (error: unknown) => void) {
    readBody(req, MAX_EVALUATION_BODY_BYTES, (body) => {
      if (body === null) return send(res, tooLarge(native));
      let answer: ServingResponse | Promise<ServingResponse>;
      try {
        answer = run(new NodeServingRequest(req, body, search, trust));
      } catch (error) {
        return fail(error);
      }
      if (answer instanceof Promise) answer.then((ready) => send(res, ready)).catch(fail);
      else send(res, answer);
    }, fail);
  }

  return (req, res) => {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const search = queryAt === -1 ? '' : url.slice(queryAt + 1);
    const fail = (error: unknown) => {
      if (!res.headersSent) send(res, { status: 500, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorDetails: 'internal error' }) });
      onError?.(error);
    };

    if (req.method === 'POST') {
      if (path.startsWith(FLAG_PREFIX)) {
        let key: string;
        try {
          key = decodeURIComponent(path.slice(FLAG_PREFIX.length));
        } catch {
          key = '';
        }
        if (key && !key.includes('/')) {
          priority.evaluation(() => handle(req, res, (request) => endpoints.ofrepFlag(key, request), false, search, fail));
          return;
        }
      } else if (path === BULK) {
        priority.evaluation(() => handle(req, res, (request) => endpoints.ofrepBulk(request), false, search, fail));
        return;
      } else if (path === NATIVE) {
        priority.evaluation(() => handle(req, res, (request) => endpoints.evaluate(request), true, search, fail));
        return;
      } else if (path === INSTANCE_REPORT && endpoints.instanceReport) {
        // A kill brings every instance's report at once: each is a registry update, not a control-plane request.
        const report = endpoints.instanceReport;
        handle(req, res, report, true, search, fail);
        return;
      }
    } else if (req.method === 'OPTIONS' && (path.startsWith(FLAG_PREFIX) || PREFLIGHT_PATHS.includes(path))) {
      res.writeHead(204, CORS_PREFLIGHT_HEADERS);
      res.end();
      return;
    }
    if (!(req.method === 'GET' && STREAM_PATHS.includes(path))) priority.control(res);
    fallback(req, res);
  };
}
