import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { TrustProxy } from '../config-parsers.js';

export type { TrustProxy } from '../config-parsers.js';

/** The client's address as the trusted proxies report it (for rate limits and caps on node:http requests). */
export function clientAddress(req: IncomingMessage, trust: TrustProxy): string {
  return proxyaddr(req, trust);
}
