import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nonPublicRange } from '../../src/webhooks/webhook-destination.js';

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((octets) => octets.join('.'));

describe('nonPublicRange', () => {
  it('refuses every IPv4-compatible IPv6 address (::/96), whatever IPv4 address it carries', () => {
    fc.assert(fc.property(ipv4, (address) => {
      expect(nonPublicRange(`::${address}`)).not.toBeNull();
    }), { numRuns: 5_000 });
    expect(nonPublicRange('::a9fe:a9fe')).toBe('ipv4Compatible');
    expect(nonPublicRange('::7f00:1')).toBe('ipv4Compatible');
    expect(nonPublicRange('::a00:1')).toBe('ipv4Compatible');
    expect(nonPublicRange('::1')).toBe('loopback');
    expect(nonPublicRange('::')).toBe('unspecified');
  });

  it('judges an IPv4-mapped address (::ffff:0:0/96) as the IPv4 address it carries', () => {
    fc.assert(fc.property(ipv4, (address) => {
      expect(nonPublicRange(`::ffff:${address}`)).toBe(nonPublicRange(address));
    }), { numRuns: 5_000 });
  });

  it('lets public unicast through, IPv4 and IPv6', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '2606:4700::1111']) expect(nonPublicRange(address)).toBeNull();
  });
});
