import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Answers an instant query with one sample of `value` (a Prometheus vector result). */
export function answerVector(res: ServerResponse, value: string, metric: Record<string, string> = {}): void {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric, value: [Date.now() / 1000, value] }] } }));
}

/**
 * A local fake of Prometheus's HTTP API (what PROMETHEUS_URL points at): `respond` gets each
 * request's `query` parameter and writes the answer (answerVector, or a failure of its own).
 */
export async function startFakePrometheus(respond: (query: string, res: ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => respond(new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '', res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
