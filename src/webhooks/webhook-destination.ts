import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { DestinationPolicy } from '../config-parsers.js';

/*
 * Where webhooks may be sent. A destination must resolve only to public unicast
 * addresses: loopback, private, link-local (cloud metadata), unspecified, multicast, reserved and
 * IPv4-embedding IPv6 ranges are refused, checked after DNS resolution when a webhook is created or
 * changed and again for every delivery (the connection uses the address that was checked, so a DNS
 * answer that changes in between cannot redirect it). Operators allow-list exceptions with
 * WEBHOOK_ALLOWED_HOSTS: host names (exact) and addresses or CIDR ranges (src/config-parsers.ts reads it).
 */

/** Why a destination is refused; the message names the host and the address range. */
export class RefusedDestination extends Error {
  override readonly name = 'RefusedDestination';
}

/**
 * IPv4-compatible IPv6 (`::a.b.c.d`, deprecated by RFC 4291): ipaddr.js calls it unicast, but a host
 * that still routes it (or a proxy that rewrites it) reaches the IPv4 address inside, 169.254.169.254
 * or 127.0.0.1 included. `::` and `::1` lie in it too and keep their own names.
 */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/**
 * An IPv6 address with a dotted IPv4 tail in hex form (the URL standard's serialisation): ipaddr.js
 * reads `::1.2.3.4` as IPv4-mapped (::ffff:1.2.3.4), though it is IPv4-compatible, and resolvers print
 * ::/96 addresses that way.
 */
function hexForm(address: string): string {
  if (!address.includes(':') || !address.includes('.')) return address;
  try {
    return new URL(`http://[${address}]`).hostname.slice(1, -1);
  } catch {
    return address;
  }
}

/** The range an address falls in when it is not public unicast (e.g. 'loopback', 'private'), else null. */
export function nonPublicRange(address: string): string | null {
  // ipaddr.process turns IPv4-mapped IPv6 (::ffff:127.0.0.1) into the IPv4 address it carries.
  const parsed = ipaddr.process(hexForm(address));
  const range = parsed.range();
  if (range !== 'unicast') return range;
  return parsed.kind() === 'ipv6' && parsed.match(IPV4_COMPATIBLE) ? 'ipv4Compatible' : null;
}

function allowedAddress(policy: DestinationPolicy, address: string): boolean {
  const parsed = ipaddr.process(hexForm(address));
  return policy.ranges.some(([network, bits]) => network.kind() === parsed.kind() && parsed.match(network, bits));
}

const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase().replace(/\.$/, '');

/** Throws RefusedDestination unless every address `host` resolves to may be reached. */
function checkAddresses(policy: DestinationPolicy, host: string, addresses: string[]): void {
  if (addresses.length === 0) throw new RefusedDestination(`host '${host}' does not resolve`);
  for (const address of addresses) {
    const range = nonPublicRange(address);
    if (range && !allowedAddress(policy, address)) {
      throw new RefusedDestination(
        `host '${host}' resolves to ${address} (${range}), which webhooks may not reach unless WEBHOOK_ALLOWED_HOSTS allows it`,
      );
    }
  }
}

async function resolve(host: string): Promise<string[]> {
  if (ipaddr.isValid(host)) return [host];
  try {
    return (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch (error) {
    throw new RefusedDestination(`host '${host}' does not resolve (${(error as NodeJS.ErrnoException).code ?? 'lookup failed'})`);
  }
}

/** Resolves the URL's host and refuses it unless allow-listed or every address is public unicast. */
export async function checkDestination(policy: DestinationPolicy, url: URL): Promise<void> {
  const host = hostOf(url);
  if (policy.hosts.has(host)) return;
  checkAddresses(policy, host, await resolve(host));
}

/**
 * A `lookup` for node:http(s) that resolves and checks in one step, so the socket connects to exactly
 * the addresses that were checked (no second resolution a rebinding DNS server could answer differently).
 */
export function checkedLookup(policy: DestinationPolicy): LookupFunction {
  return (hostname, options, callback) => {
    const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase().replace(/\.$/, '');
    resolve(host)
      .then((addresses) => {
        if (!policy.hosts.has(host)) checkAddresses(policy, host, addresses);
        const family = (address: string) => (ipaddr.IPv4.isValid(address) && !address.includes(':') ? 4 : 6);
        if (options.all) callback(null, addresses.map((address) => ({ address, family: family(address) })));
        else callback(null, addresses[0]!, family(addresses[0]!));
      })
      .catch((error: NodeJS.ErrnoException) => callback(error, '', 0));
  };
}
