import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';

// The settings whose syntax src/config.ts checks at start (so a bad value fails loudly, beside the
// others) and that their users parse again into the value they work with. Here, and not in those
// users, so that config.ts imports no layer of the application.

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

/** A 32-byte key given as 64 hex digits or as base64 (what `openssl rand -base64 32` prints); throws otherwise. */
export function parseSecretKey(value: string): Buffer {
  const text = value.trim();
  if (/^[0-9a-f]{64}$/i.test(text)) return Buffer.from(text, 'hex');
  // 43 base64 digits (plus one '=') carry exactly 32 bytes.
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  throw new Error('must be 32 bytes: 64 hex digits or base64 (openssl rand -base64 32)');
}

/** The webhook destinations allowed although not public (src/webhooks/webhook-destination.ts applies it). */
export interface DestinationPolicy {
  /** Lower-case host names allowed whatever they resolve to. */
  hosts: ReadonlySet<string>;
  /** Address ranges allowed although not public. */
  ranges: ReadonlyArray<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/;

/** Parses WEBHOOK_ALLOWED_HOSTS (comma-separated host names, addresses, CIDRs); throws naming a bad entry. */
export function parseAllowedHosts(value: string): DestinationPolicy {
  const hosts = new Set<string>();
  const ranges: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = [];
  for (const raw of value.split(',').map((entry) => entry.trim()).filter(Boolean)) {
    const entry = raw.replace(/^\[(.*)\]$/, '$1');
    if (entry.includes('/')) {
      try {
        ranges.push(ipaddr.parseCIDR(entry));
      } catch {
        throw new Error(`'${raw}' is not a CIDR range`);
      }
    } else if (ipaddr.isValid(entry)) {
      const address = ipaddr.parse(entry);
      ranges.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    } else if (HOST_NAME.test(entry.toLowerCase())) {
      hosts.add(entry.toLowerCase().replace(/\.$/, ''));
    } else {
      throw new Error(`'${raw}' is neither a host name, an address nor a CIDR range`);
    }
  }
  return { hosts, ranges };
}
