import { request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface EventStream {
  close(): void;
}

/**
 * Opens Ripcord's event stream (`GET /api/v1/stream`, server-sent events) as a benchmark client:
 * resolves once the server says `ready`, then calls `onEvent` with each event's name, its data line
 * and the moment the chunk carrying it was read (by `clock`: performance.now() unless given).
 */
export function openEventStream(
  baseUrl: string, token: string, onEvent: (event: string, data: string, at: number) => void, clock: () => number = () => performance.now(),
): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}/api/v1/stream`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`));
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        const at = clock();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event === 'ready') resolve({ close: () => req.destroy() });
          else if (event && data) onEvent(event, data, at);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}
