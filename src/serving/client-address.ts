import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

export type TrustProxy = (address: string, hop: number) => boolean;

/**
 * Which proxies may tell us the client's address in X-Forwarded-For: TRUSTED_PROXIES, a comma-separated
 * list of addresses, CIDR ranges or proxy-addr's names (`loopback`, `linklocal`, `uniquelocal`). Empty
 * (the default): none, so the address is the socket's peer and a forged header changes nothing.
 */
export function trustProxies(setting: string): TrustProxy {
  const list = setting.split(',').map((part) => part.trim()).filter(Boolean);
  return proxyaddr.compile(list);
}

/** The client's address as the trusted proxies report it (for rate limits and caps on node:http requests). */
export function clientAddress(req: IncomingMessage, trust: TrustProxy): string {
  // Without X-Forwarded-For there is nothing to walk: the peer is the client (what proxyaddr answers then).
  if (req.headers['x-forwarded-for'] === undefined) return req.socket.remoteAddress ?? '';
  return proxyaddr(req, trust);
}
