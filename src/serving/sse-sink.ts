import type { ServerResponse } from 'node:http';
import type { StreamSink } from './stream-hub.js';

const CRLF = Buffer.from('\r\n');

/**
 * The bytes of the chunk written last, kept for the next stream: a broadcast hands the same string
 * to every client in one synchronous loop, so it is encoded and framed once, not once per client.
 */
let last: { text: string; raw: Buffer; chunked?: Buffer } | undefined;

function bytesOf(text: string, chunkedEncoding: boolean): Buffer {
  if (last?.text !== text) last = { text, raw: Buffer.from(text) };
  if (!chunkedEncoding) return last.raw;
  // One HTTP/1.1 chunk: size in hex, CRLF, the data, CRLF.
  last.chunked ??= Buffer.concat([Buffer.from(`${last.raw.length.toString(16)}\r\n`), last.raw, CRLF]);
  return last.chunked;
}

/**
 * The writable end of one Server-Sent Events response, once its headers are sent. A change goes to
 * every stream of a process at once: each gets the already framed bytes in one write straight to
 * its socket, where `res.write` would encode the text again and frame it in four writes on a socket
 * corked until the next tick, per client. Until the response owns its socket (a pipelined request
 * still answering ahead of it) chunks go through `res.write`, which queues them in order.
 */
export function responseSink(res: ServerResponse): StreamSink {
  return {
    write(chunk: string): boolean {
      if (res.writableEnded) return false;
      const socket = res.socket;
      if (!socket) return res.write(chunk);
      if (socket.destroyed) return false;
      return socket.write(bytesOf(chunk, res.chunkedEncoding));
    },
    get writableLength(): number {
      return res.writableLength;
    },
    end: () => res.end(),
  };
}
