/* bench:scale's stream client: the shared benchmark SSE reader, remembering when each change arrived. */
import { performance } from 'node:perf_hooks';
import { openEventStream, type EventStream } from '../lib/event-stream.js';

export interface StreamClient {
  stream: EventStream;
  /** `event name:flag key:version` → when this client read it (performance.now()). */
  seen: Map<string, number>;
}

export async function openStream(port: number, token: string): Promise<StreamClient> {
  const seen = new Map<string, number>();
  const stream = await openEventStream(`http://127.0.0.1:${port}`, token, (event, data, at) => {
    if (!event.startsWith('flag.')) return;
    const parsed = JSON.parse(data) as { key?: string; version?: number };
    seen.set(`${event}:${parsed.key}:${parsed.version}`, at);
  });
  return { stream, seen };
}

export async function waitUntil(done: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
