import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { peerAddressOf } from '../../src/flagd/peer-address.js';

const port = fc.integer({ min: 1, max: 65_535 });
const ipv4 = fc.ipV4();
// fast-check's IPv6 generator also writes dotted tails (::ffff:1.2.3.4), as sockets report mapped addresses.
const ipv6 = fc.ipV6();

describe("peerAddressOf (grpc-js's peer string)", () => {
  it('drops the port of `address:port`, as grpc-js 1.14 reports a socket (IPv4 and IPv6, unbracketed)', () => {
    fc.assert(fc.property(fc.oneof(ipv4, ipv6), port, (address, p) => {
      expect(peerAddressOf(`${address}:${p}`)).toBe(address);
    }), { numRuns: 5_000 });
  });

  it('reads the older `ipv4:` / `ipv6:[…]` forms and bracketed IPv6', () => {
    fc.assert(fc.property(ipv4, ipv6, port, (v4, v6, p) => {
      expect(peerAddressOf(`ipv4:${v4}:${p}`)).toBe(v4);
      expect(peerAddressOf(`ipv6:[${v6}]:${p}`)).toBe(v6);
      expect(peerAddressOf(`[${v6}]:${p}`)).toBe(v6);
    }), { numRuns: 2_000 });
  });

  it('gives one key to every connection from one host, whatever its port', () => {
    fc.assert(fc.property(fc.oneof(ipv4, ipv6), port, port, (address, a, b) => {
      expect(peerAddressOf(`${address}:${a}`)).toBe(peerAddressOf(`${address}:${b}`));
    }), { numRuns: 2_000 });
    expect(peerAddressOf('127.0.0.1:54321')).toBe('127.0.0.1');
    expect(peerAddressOf('::ffff:127.0.0.1:40000')).toBe('::ffff:127.0.0.1');
  });

  it('keeps an address without a port, and anything else as it came', () => {
    expect(peerAddressOf('127.0.0.1')).toBe('127.0.0.1');
    expect(peerAddressOf('unknown')).toBe('unknown');
  });
});
