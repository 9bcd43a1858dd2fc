/*
 * One process of bench:scale's stream clients (forked by stream-client.ts): opens `count` SSE streams
 * and tells its parent, once every one of them has read an event, when the first and the last did.
 * Times are CLOCK_MONOTONIC (process.hrtime), which every process on the machine shares, so the
 * parent compares them with its own. Nothing polls: each arrival only counts.
 */
import { openEventStream, type EventStream } from '../lib/event-stream.js';

export type ToParent = { type: 'ready' } | { type: 'seen'; id: string; first: number; last: number } | { type: 'failed'; message: string };

const [base, token, countArg] = process.argv.slice(2);
const count = Number(countArg);
const send = (message: ToParent) => process.send!(message);
const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;

const arrivals = new Map<string, { n: number; first: number; last: number }>();
const streams: EventStream[] = [];

function onEvent(event: string, data: string, at: number): void {
  if (!event.startsWith('flag.')) return;
  const parsed = JSON.parse(data) as { key?: string; version?: number };
  const id = `${event}:${parsed.key}:${parsed.version}`;
  let seen = arrivals.get(id);
  if (!seen) arrivals.set(id, (seen = { n: 0, first: at, last: at }));
  seen.n += 1;
  seen.first = Math.min(seen.first, at);
  seen.last = Math.max(seen.last, at);
  if (seen.n === count) {
    send({ type: 'seen', id, first: seen.first, last: seen.last });
    arrivals.delete(id);
  }
}

process.on('message', (message: { type: string }) => {
  if (message.type !== 'close') return;
  for (const stream of streams) stream.close();
  process.exit(0);
});
process.on('disconnect', () => process.exit(0));

try {
  let next = 0;
  // 50 connects in flight per process: the server sees a steady arrival, not a stampede.
  await Promise.all(Array.from({ length: Math.min(50, count) }, async () => {
    while (next < count) {
      next += 1;
      streams.push(await openEventStream(base!, token!, onEvent, monotonicMs));
    }
  }));
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'failed', message: String(error) });
}
