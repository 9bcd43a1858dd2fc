import { createServer, get, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { responseSink } from '../../src/serving/sse-sink.js';
import type { StreamSink } from '../../src/serving/stream-hub.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A real node:http server whose every request becomes an SSE response handed to `onStream` as a sink. */
async function sseServer(onStream: (sink: StreamSink, res: ServerResponse) => void): Promise<number> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    onStream(responseSink(res), res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** The decoded body as node's own HTTP/1.1 client reads it (it undoes the chunked framing). */
function readBody(port: number): Promise<{ body: string; transferEncoding: string | undefined }> {
  return new Promise((resolve, reject) => {
    get({ port, host: '127.0.0.1', path: '/' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ body: Buffer.concat(chunks).toString('utf8'), transferEncoding: res.headers['transfer-encoding'] }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** The raw bytes after the headers of an HTTP/1.0 exchange (no chunked framing there). */
function readHttp10(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.0\r\nHost: x\r\n\r\n'));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve(text.slice(text.indexOf('\r\n\r\n') + 4));
    });
    socket.on('error', reject);
  });
}

describe('responseSink: SSE chunks written straight to the socket', () => {
  it('frames every chunk as HTTP/1.1 chunks a real client decodes byte for byte, multi-byte text included', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 8 }), async (texts) => {
      const port = await sseServer((sink) => {
        for (const text of texts) sink.write(`data: ${text}\n\n`);
        sink.end();
      });
      const { body, transferEncoding } = await readBody(port);
      expect(transferEncoding).toBe('chunked');
      expect(body).toBe(texts.map((text) => `data: ${text}\n\n`).join(''));
    }), { numRuns: 25 });
  });

  it('gives two streams the same chunk in turn (the framing is shared) and each its own chunks between', async () => {
    const sinks: StreamSink[] = [];
    let opened!: () => void;
    const bothOpen = new Promise<void>((resolve) => (opened = resolve));
    const port = await sseServer((sink) => {
      sink.write(`data: hello ${sinks.length}\n\n`);
      sinks.push(sink);
      if (sinks.length === 2) opened();
    });
    const reads = [readBody(port), readBody(port)];
    await bothOpen;
    for (const sink of sinks) sink.write('data: kill ✂\n\n');
    sinks[0]!.write('data: only the first\n\n');
    for (const sink of sinks) sink.write('data: kill ✂\n\n');
    for (const sink of sinks) sink.end();
    const [first, second] = await Promise.all(reads);
    expect(first!.body).toBe('data: hello 0\n\ndata: kill ✂\n\ndata: only the first\n\ndata: kill ✂\n\n');
    expect(second!.body).toBe('data: hello 1\n\ndata: kill ✂\n\ndata: kill ✂\n\n');
  });

  it('writes plain bytes to an HTTP/1.0 client, which gets no chunked framing', async () => {
    const port = await sseServer((sink) => {
      sink.write('data: one\n\n');
      sink.write('data: twö\n\n');
      sink.end();
    });
    expect(await readHttp10(port)).toBe('data: one\n\ndata: twö\n\n');
  });

  it('refuses a write after the end instead of throwing', async () => {
    let result: boolean | undefined;
    const port = await sseServer((sink) => {
      sink.write('data: last\n\n');
      sink.end();
      result = sink.write('data: too late\n\n');
    });
    expect((await readBody(port)).body).toBe('data: last\n\n');
    expect(result).toBe(false);
  });
});
