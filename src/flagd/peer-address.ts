import { isIP } from 'node:net';

/**
 * The client's IP address from grpc-js's peer string: the socket's `${remoteAddress}:${remotePort}`
 * (`127.0.0.1:5000`, `::1:5000`, `::ffff:127.0.0.1:5000`: the port is what follows the last colon,
 * although `::1:5000` alone would be an IPv6 address too), older releases' `ipv4:127.0.0.1:5000` or
 * `ipv6:[::1]:5000`, or the address alone when the socket has no port. The port never counts: a new
 * connection from the same host must land under the same key (per-address caps and limits).
 */
export function peerAddressOf(peer: string): string {
  const bare = peer.replace(/^ipv[46]:/, '');
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(bare);
  if (bracketed) return bracketed[1]!;
  const withoutPort = bare.replace(/:\d+$/, '');
  if (withoutPort !== bare && isIP(withoutPort)) return withoutPort;
  return isIP(bare) ? bare : peer;
}
