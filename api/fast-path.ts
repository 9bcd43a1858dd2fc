import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { clientAddress, type TrustProxy } from '../src/serving/client-address.js';
import {
  CORS_HEADERS,
  CORS_PREFLIGHT_HEADERS,
  MAX_EVALUATION_BODY_BYTES,
  type EvaluationEndpoints,
  type ServingRequest,
  type ServingResponse,
} from '../src/serving/evaluation-endpoints.js';
import { OFREP_EVENT_STREAM_PATH } from '../src/serving/ofrep-event-streams.js';

const FLAG_PREFIX = '/ofrep/v1/evaluate/flags/';
const BULK = '/ofrep/v1/evaluate/flags';
const NATIVE = '/api/v1/evaluate';
const PREFLIGHT_PATHS = [BULK, NATIVE, '/api/v1/stream', OFREP_EVENT_STREAM_PATH];

/** Reads a request body up to `limit` bytes; null when it is larger. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(null);
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const noQuery = () => undefined;

/** Query parameters by name, parsed only when there is a query string (the hot path usually has none). */
function queryOf(search: string): (name: string) => string | undefined {
  if (!search) return noQuery;
  const params = new URLSearchParams(search);
  return (name) => params.get(name) ?? undefined;
}

function send(res: ServerResponse, answer: ServingResponse): void {
  res.writeHead(answer.status, answer.headers ? { ...CORS_HEADERS, ...answer.headers } : CORS_HEADERS);
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
 * The evaluation hot paths served straight from node:http — OFREP single and bulk, the native
 * bulk evaluate and CORS preflights — and every other request handed to
 * `fallback` (the Express app). Express's per-request cost is several times the evaluation's.
 */
export function createFastPath(endpoints: EvaluationEndpoints, fallback: RequestListener, trust: TrustProxy, onError?: (error: unknown) => void): RequestListener {
  async function handle(req: IncomingMessage, res: ServerResponse, run: (request: ServingRequest) => Promise<ServingResponse>, native: boolean, search: string) {
    const body = await readBody(req, MAX_EVALUATION_BODY_BYTES);
    if (body === null) return send(res, tooLarge(native));
    const headers = req.headers;
    const request: ServingRequest = {
      header: (name) => {
        const value = headers[name];
        return Array.isArray(value) ? value[0] : value;
      },
      body,
      query: queryOf(search),
      address: clientAddress(req, trust),
    };
    send(res, await run(request));
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
          handle(req, res, (request) => endpoints.ofrepFlag(key, request), false, search).catch(fail);
          return;
        }
      } else if (path === BULK) {
        handle(req, res, (request) => endpoints.ofrepBulk(request), false, search).catch(fail);
        return;
      } else if (path === NATIVE) {
        handle(req, res, (request) => endpoints.evaluate(request), true, search).catch(fail);
        return;
      }
    } else if (req.method === 'OPTIONS' && (path.startsWith(FLAG_PREFIX) || PREFLIGHT_PATHS.includes(path))) {
      res.writeHead(204, CORS_PREFLIGHT_HEADERS);
      res.end();
      return;
    }
    fallback(req, res);
  };
}
