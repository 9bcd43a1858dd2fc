import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { TrustProxy } from '../config-parsers.js';

export type { TrustProxy } from '../config-parsers.js';

/** The client's address as the trusted proxies report it (for rate limits and caps on node:http requests). */
export function clientAddress(req: IncomingMessage, trust: TrustProxy): string {
  // Without X-Forwarded-For there is nothing to walk: the peer is the client (what proxyaddr answers then).
  if (req.headers['x-forwarded-for'] === undefined) return req.socket.remoteAddress ?? '';
  return proxyaddr(req, trust);
}
